import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

const run = promisify(execFile);
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const rulesFile = path.resolve('dashboards/prometheus/alerts.yml');

interface RulesFile {
  groups: { rules: { alert?: string }[] }[];
}

/**
 * What Prometheus sees of a rebuild of `inventory-projector` (issue 19): while
 * it runs, the lag monitor exports its `.rebuild` group with kind="rebuild",
 * far behind and — at the end, when it stops committing — STOP; after the
 * swap the group is deleted from Kafka, so the monitor (which resets its
 * gauges every poll) exports nothing more for it. The live group is healthy
 * throughout. No alert may fire at any time, during or after.
 */
const series = (group: string, kind: string, tail: string) => [
  { series: `kafka_consumergroup_group_max_lag{cluster_name="c",group="${group}",kind="${kind}",is_simple_consumer="false"}`, values: `35000-3500x10 ${tail}` },
  { series: `kafka_consumergroup_group_sum_lag{cluster_name="c",group="${group}",kind="${kind}"}`, values: `90000-9000x10 ${tail}` },
  { series: `kafka_consumergroup_group_max_lag_seconds{cluster_name="c",group="${group}",kind="${kind}",is_simple_consumer="false"}`, values: `86400-8640x10 ${tail}` },
  {
    series: `pipeline_consumer_status{cluster_name="c",group="${group}",kind="${kind}",source="postgres",status="STOP",reason="commits_stopped"}`,
    values: `0x7 1 1 1 ${tail.replace(/0x/g, '1x')}`,
  },
];
const healthy = (group: string) => [
  { series: `kafka_consumergroup_group_max_lag{cluster_name="c",group="${group}",kind="live",is_simple_consumer="false"}`, values: '3x60' },
  { series: `kafka_consumergroup_group_sum_lag{cluster_name="c",group="${group}",kind="live"}`, values: '5x60' },
  { series: `kafka_consumergroup_group_max_lag_seconds{cluster_name="c",group="${group}",kind="live",is_simple_consumer="false"}`, values: '0.4x60' },
  { series: `pipeline_consumer_status{cluster_name="c",group="${group}",kind="live",source="postgres",status="OK",reason="ok"}`, values: '1x60' },
];
const monitorUp = [
  { series: 'kafka_consumergroup_poll_time_ms{cluster_name="c"}', values: '20x60' },
  // Its value is the poll's time in seconds: one poll a minute, never stale.
  { series: 'pipeline_lag_monitor_last_poll_timestamp_seconds{cluster_name="c"}', values: '0+60x60' },
];

describe('alert rules and a finished rebuild (promtool)', () => {
  it('no alert fires during a rebuild or after its group is deleted; a live group left in the same state would page', async () => {
    const rules = parse(await readFile(rulesFile, 'utf8')) as RulesFile;
    const alerts = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
    expect(alerts).toContain('ConsumerGroupUnhealthy');
    const silent = (times: string[]) => times.flatMap((t) => alerts.map((alertname) => ({ eval_time: t, alertname, exp_alerts: [] })));
    const tests = {
      rule_files: [rulesFile],
      evaluation_interval: '1m',
      tests: [
        {
          name: 'a finished rebuild: its group disappears after the swap',
          interval: '1m',
          // `_` = no sample: the group was deleted from Kafka at 10m.
          input_series: [...series('inventory-projector.rebuild', 'rebuild', '_x50'), ...healthy('inventory-projector'), ...monitorUp],
          alert_rule_test: silent(['5m', '10m', '14m', '20m', '40m', '60m']),
        },
        {
          name: 'control: the same STOP on a live group that stays',
          interval: '1m',
          input_series: [...series('stuck', 'live', '0x50'), ...monitorUp],
          alert_rule_test: [
            {
              eval_time: '20m',
              alertname: 'ConsumerGroupUnhealthy',
              exp_alerts: [
                {
                  exp_labels: { severity: 'critical', cluster_name: 'c', group: 'stuck', source: 'postgres', status: 'STOP', reason: 'commits_stopped' },
                  exp_annotations: {
                    summary: 'Consumer group stuck is STOP (commits_stopped)',
                    description:
                      'Burrow-style evaluation of postgres offsets: STOP = no commits while lagging, STALL = commits without progress, REWIND = offsets went backwards.',
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const dir = await mkdtemp(path.join(tmpdir(), 'rebuild-rules-'));
    const file = path.join(dir, 'rebuild.test.yml');
    await writeFile(file, stringify(tests));
    const { stdout } = await run(PROMTOOL, ['test', 'rules', file]).catch((err: { stdout?: string; stderr?: string }) => {
      throw new Error(`promtool failed:\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
    });
    expect(stdout).toContain('SUCCESS');
  });
});
