import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createLagMetrics } from '../../src/monitor/lag-metrics.js';
import { createLagModel, type PollReadings } from '../../src/monitor/lag-model.js';
import { tpKey, type ProbeRange } from '../../src/monitor/record-probe.js';

const readings = (over: Partial<PollReadings> & { committed?: number; latest?: number; members?: number }): PollReadings => ({
  groups: [
    {
      group: 'g',
      state: (over.members ?? 0) > 0 ? 'Stable' : 'Empty',
      members: over.members ?? 0,
      isSimpleConsumer: false,
      committed: over.committed === undefined ? [] : [{ topic: 't', partition: 0, offset: over.committed }],
    },
  ],
  stored: over.stored ?? [],
  ends: over.ends ?? new Map([['t', new Map([[0, { earliest: 0, latest: over.latest ?? 100 }]])]]),
  retentionMs: over.retentionMs ?? new Map(),
  views: over.views ?? [],
  errors: over.errors ?? [],
});
const noProbes = new Map<string, ProbeRange[]>();

describe('lag model', () => {
  it('an empty group that does not move while lagging is STOP; a live one committing the same offset is STALL', () => {
    const stopped = createLagModel({ clusterName: 'c', burrow: { minDistanceMs: 0 } });
    stopped.update(readings({ committed: 10 }), 0, noProbes, 1);
    const s = stopped.update(readings({ committed: 10, latest: 110 }), 5_000, noProbes, 1);
    expect(s.groups[0]?.status).toMatchObject({ status: 'STOP', reason: 'commits_stopped' });

    const stalled = createLagModel({ clusterName: 'c', burrow: { minDistanceMs: 0, intervals: 3 } });
    let snap = stalled.update(readings({ committed: 10, members: 1 }), 0, noProbes, 1);
    for (let t = 1; t <= 3; t++) snap = stalled.update(readings({ committed: 10, latest: 100 + t, members: 1 }), t * 5_000, noProbes, 1);
    expect(snap.groups[0]?.status).toMatchObject({ status: 'STALL', reason: 'offset_not_advancing' });
  });

  it('asks the probe only for positions it cannot answer yet, and uses the answer', () => {
    const model = createLagModel({ clusterName: 'c' });
    const r = readings({ committed: 97, latest: 100 });
    expect(model.probeRequests(r)).toEqual([{ topic: 't', partition: 0, offset: 97 }]);
    // Only transaction markers from 97 to the log end: a caught-up read_committed group.
    const probes = new Map([[tpKey('t', 0), [{ fromOffset: 97, records: [], examinedUpTo: 100 }]]]);
    const snap = model.update(r, 1_000, probes, 1);
    expect(snap.groups[0]?.topics[0]?.partitions[0]).toMatchObject({ lag: 0, lagSeconds: 0 });
    expect(model.probeRequests(r)).toEqual([]);
    // The log grows past what was examined: ask again.
    expect(model.probeRequests(readings({ committed: 97, latest: 120 }))).toHaveLength(1);
  });

  it('flags stored vs committed disagreement only after the grace period', () => {
    const model = createLagModel({ clusterName: 'c', disagreementGraceMs: 10_000 });
    const stored = [{ group: 'g', topic: 't', partition: 0, nextOffset: 60, updatedAtMs: 0 }];
    const at = (t: number) => model.update(readings({ committed: 50, stored }), t, noProbes, 1).groups[0]?.topics[0]?.partitions[0]?.stored;
    expect(at(0)).toMatchObject({ offset: 60, lag: 40, disagree: false });
    expect(at(5_000)?.disagree).toBe(false);
    expect(at(10_000)?.disagree).toBe(true);
  });

  it('publishes metrics without stale series once a group disappears', async () => {
    const registry = new Registry();
    const metrics = createLagMetrics(registry);
    const model = createLagModel({ clusterName: 'c' });
    metrics.publish(model.update(readings({ committed: 40 }), 0, noProbes, 3));
    expect(await registry.metrics()).toContain('kafka_consumergroup_group_lag{cluster_name="c",group="g",kind="live",topic="t",partition="0"} 60');
    metrics.publish(model.update({ ...readings({}), groups: [] }, 1_000, noProbes, 3));
    const text = await registry.metrics();
    expect(text).not.toContain('group="g"');
    expect(text).toContain('kafka_consumergroup_poll_time_ms{cluster_name="c"} 3');
  });

  it('computes view freshness and the retention risk ratio', () => {
    const model = createLagModel({ clusterName: 'c' });
    const snap = model.update(
      readings({
        committed: 40,
        retentionMs: new Map([['t', 100_000]]),
        views: [{ view: 'v', group: 'g', lastSourceTimeMs: 70_000, lastCommitTimeMs: 75_000, lastCanaryTimeMs: null }],
      }),
      100_000,
      new Map([[tpKey('t', 0), [{ fromOffset: 40, records: [{ offset: 40, timestampMs: 50_000 }], examinedUpTo: 41 }]]]),
      1,
    );
    expect(snap.views[0]?.freshnessSeconds).toBe(30);
    expect(snap.groups[0]?.topics[0]).toMatchObject({ maxLagSeconds: 50, retentionRisk: 0.5 });
  });
});
