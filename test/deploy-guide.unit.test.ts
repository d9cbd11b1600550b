import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configEntries } from '../src/config/config.js';

/** docs/operating/deploy.md quotes the sample files that were run and checked; they must not drift apart. */
const guide = readFileSync('docs/operating/deploy.md', 'utf8');
const block = (lang: string) => [...guide.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);

describe('the deployment guide', () => {
  it('quotes the sample systemd unit and the container recipe as they are on file', () => {
    expect(block('ini')).toEqual([readFileSync('docs/operating/ddb-cdc-pipeline@.service', 'utf8')]);
    expect(block('dockerfile')).toEqual([readFileSync('docs/operating/Dockerfile', 'utf8')]);
  });

  it('runs the compiled CLI of the package, on its bin path, and names only settings that exist', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string>; engines: { node: string } };
    const cli = `node_modules/ddb-cdc-pipeline/${pkg.bin['ddb-cdc-pipeline']}`;
    expect(readFileSync('docs/operating/ddb-cdc-pipeline@.service', 'utf8')).toMatch(new RegExp(`^ExecStart=\\S+/node /opt/ddb-cdc-pipeline/${cli} run$`, 'm'));
    expect(readFileSync('docs/operating/Dockerfile', 'utf8')).toContain(`"/opt/ddb-cdc-pipeline/${cli}"`);
    expect(guide).toContain(`\`${pkg.engines.node}\``);
    const known = new Set(Object.values(configEntries).map((e) => e.env));
    const named = new Set([...guide.matchAll(/^([A-Z][A-Z0-9_]+)=/gm), ...guide.matchAll(/`([A-Z][A-Z0-9]+_[A-Z0-9_]+)`/g)].map((m) => m[1]!));
    const unknown = [...named].filter((n) => !known.has(n) && !['NODE_OPTIONS', 'PATH', 'LAG_MONITOR_NOT_RUNNING'].includes(n));
    expect(unknown).toEqual([]);
  });
});
