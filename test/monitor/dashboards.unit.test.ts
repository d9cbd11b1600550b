import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dashboards, render } from '../../dashboards/src/index.js';

describe('dashboards as code', () => {
  it.each(dashboards)('generated/$file is up to date with its source (npx tsx dashboards/build.ts)', async ({ file, build }) => {
    const onDisk = await readFile(path.resolve('dashboards/generated', file), 'utf8');
    expect(onDisk).toBe(render(build()));
  });

  it.each(dashboards)('$file: unique uid, titled panels with queries, Prometheus datasource variable', ({ build }) => {
    const d = build().build();
    const panels = (d.panels ?? []).filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThan(3);
    for (const p of panels) {
      expect(p.title).toBeTruthy();
      expect('targets' in p && Array.isArray(p.targets) && p.targets.length > 0, `${String(p.title)} has no query`).toBe(true);
    }
    expect(new Set(panels.map((p) => p.title)).size).toBe(panels.length);
    expect(d.templating?.list?.some((v) => v.type === 'datasource')).toBe(true);
  });

  it('dashboards have distinct uids', () => {
    const uids = dashboards.map((d) => d.build().build().uid);
    expect(new Set(uids).size).toBe(uids.length);
  });
});
