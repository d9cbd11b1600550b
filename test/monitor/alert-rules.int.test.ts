import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const run = promisify(execFile);
const dir = path.resolve('dashboards/prometheus');
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

interface RulesFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}
interface TestsFile {
  tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}

describe('Prometheus alert rules (promtool)', () => {
  it('promtool check rules passes', async () => {
    const { stdout } = await run(PROMTOOL, ['check', 'rules', path.join(dir, 'alerts.yml')]);
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('promtool test rules passes', async () => {
    const { stdout } = await run(PROMTOOL, ['test', 'rules', path.join(dir, 'alerts.test.yml')], { cwd: dir });
    expect(stdout).toContain('SUCCESS');
  });

  it('every alert has a unit test where it fires', async () => {
    // promtool compares the full list of alerts at each eval_time, so the healthy
    // series fed next to the breaching ones prove the silent side as well.
    const rules = parse(await readFile(path.join(dir, 'alerts.yml'), 'utf8')) as RulesFile;
    const tests = parse(await readFile(path.join(dir, 'alerts.test.yml'), 'utf8')) as TestsFile;
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    const alerts = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
    expect(alerts.length).toBeGreaterThanOrEqual(9);
    for (const alert of alerts) {
      const fires = cases.some((c) => c.alertname === alert && (c.exp_alerts ?? []).length > 0);
      expect(fires, `${alert} has no test where it fires`).toBe(true);
    }
  });
});
