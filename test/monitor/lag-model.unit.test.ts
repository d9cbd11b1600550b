import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createLagMetrics } from '../../src/monitor/lag-metrics.js';
import { createLagModel, type PollReadings } from '../../src/monitor/lag-model.js';
import { tpKey, type ProbeRange } from '../../src/log/record-probe.js';

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
    const stopped = createLagModel({ clusterName: 'c', burrow: { minDistanceMs: 0, intervals: 3 } });
    stopped.update(readings({ committed: 10 }), 0, noProbes, 1);
    let s = stopped.update(readings({ committed: 10, latest: 110 }), 5_000, noProbes, 1);
    // Two polls are not a window of three: no verdict yet.
    expect(s.groups[0]?.status).toMatchObject({ status: 'OK', reason: 'incomplete_window' });
    s = stopped.update(readings({ committed: 10, latest: 120 }), 10_000, noProbes, 1);
    expect(s.groups[0]?.status).toMatchObject({ status: 'STOP', reason: 'commits_stopped', detail: 't/0: no commit for 10 s with lag 110' });

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

  it('a partition its consumer stopped (stored offset of another topic incarnation) is STOP with the stored reason, and exported', async () => {
    const model = createLagModel({ clusterName: 'c' });
    const reason = 't/0: the stored offset 391 was stored for topic ID a, and the topic now has ID b; likely the topic was deleted and created again';
    // The new topic's log end (100) is below the stored offset: lag alone would read 0.
    const stored = [{ group: 'g', topic: 't', partition: 0, nextOffset: 391, updatedAtMs: 0, blockedReason: reason }];
    const snap = model.update(readings({ stored }), 1_000, noProbes, 1);
    const g = snap.groups[0]!;
    expect(g.status).toMatchObject({ status: 'STOP', reason: 'offset_blocked', detail: `t/0: ${reason}` });
    expect(g.topics[0]?.partitions[0]).toMatchObject({ offset: 391, status: 'STOP', reason: 'offset_blocked', blocked: reason });
    const registry = new Registry();
    createLagMetrics(registry).publish(snap);
    const text = await registry.metrics();
    expect(text).toContain('pipeline_consumer_partition_blocked{cluster_name="c",group="g",kind="live",topic="t",partition="0"} 1');
    expect(text).toContain('pipeline_consumer_status{cluster_name="c",group="g",kind="live",source="postgres",status="STOP",reason="offset_blocked"} 1');
    // Lifted (offsets reset): OK again, and the series reads 0.
    const after = model.update(readings({ stored: [{ ...stored[0]!, nextOffset: 100, updatedAtMs: 2_000, blockedReason: null }] }), 3_000, noProbes, 1);
    expect(after.groups[0]?.topics[0]?.partitions[0]).toMatchObject({ blocked: null });
    expect(after.groups[0]?.status?.reason).not.toBe('offset_blocked');
  });

  it('flags stored vs committed disagreement only after the grace period', () => {
    const model = createLagModel({ clusterName: 'c', disagreementGraceMs: 10_000 });
    const stored = [{ group: 'g', topic: 't', partition: 0, nextOffset: 60, updatedAtMs: 0 }];
    const at = (t: number) => model.update(readings({ committed: 50, stored }), t, noProbes, 1).groups[0]?.topics[0]?.partitions[0]?.stored;
    expect(at(0)).toMatchObject({ offset: 60, lag: 40, disagree: false });
    expect(at(5_000)?.disagree).toBe(false);
    expect(at(10_000)?.disagree).toBe(true);
  });

  it('a group that stores offsets is judged by them; its stale Kafka commits are advisory', async () => {
    const model = createLagModel({ clusterName: 'c', burrow: { minDistanceMs: 0, intervals: 3 }, disagreementGraceMs: 10_000 });
    // Caught up in PostgreSQL at the log end (100); Kafka's copy stuck at 40 (a coordinator failover), one live member.
    const stored = [{ group: 'g', topic: 't', partition: 0, nextOffset: 100, updatedAtMs: 0 }];
    let snap = model.update(readings({ committed: 40, members: 1, stored }), 0, noProbes, 1);
    for (const t of [5_000, 10_000]) snap = model.update(readings({ committed: 40, members: 1, stored }), t, noProbes, 1);
    const g = snap.groups[0]!;
    expect(g).toMatchObject({ offsetSource: 'postgres', sumLag: 0, maxLag: 0, maxLagSeconds: 0 });
    expect(g.status).toMatchObject({ status: 'OK', reason: 'caught_up' });
    expect(g.kafkaStatus).toMatchObject({ status: 'STALL', reason: 'offset_not_advancing', detail: 't/0: 3 commits at offset 40 with lag 60' });
    expect(g.topics[0]?.partitions[0]).toMatchObject({
      offset: 100,
      committedOffset: 40,
      lag: 0,
      status: 'OK',
      kafka: { lag: 60, status: 'STALL' },
      stored: { offset: 100, lag: 0, disagree: true },
    });

    const registry = new Registry();
    createLagMetrics(registry).publish(snap);
    const text = await registry.metrics();
    const labels = 'cluster_name="c",group="g",kind="live",topic="t",partition="0"';
    expect(text).toContain(`kafka_consumergroup_group_offset{${labels}} 100`);
    expect(text).toContain(`kafka_consumergroup_group_lag{${labels}} 0`);
    expect(text).toContain('kafka_consumergroup_group_sum_lag{cluster_name="c",group="g",kind="live"} 0');
    expect(text).toContain('pipeline_consumer_status{cluster_name="c",group="g",kind="live",source="postgres",status="OK",reason="caught_up"} 1');
    expect(text).not.toContain('source="kafka"');
    expect(text).toContain(`pipeline_consumer_kafka_offset{${labels}} 40`);
    expect(text).toContain(`pipeline_consumer_kafka_lag{${labels}} 60`);
    expect(text).toContain('pipeline_consumer_kafka_status{cluster_name="c",group="g",kind="live",status="STALL",reason="offset_not_advancing"} 1');
    expect(text).toContain(`pipeline_consumer_offsets_difference{${labels}} 60`);
    expect(text).toContain(`pipeline_consumer_offsets_disagree{${labels}} 1`);
  });

  it("a storing group's partition without a stored offset stands at the log start; a group storing none is judged by Kafka", () => {
    const model = createLagModel({ clusterName: 'c' });
    const ends = new Map([['t', new Map([[0, { earliest: 0, latest: 100 }], [1, { earliest: 20, latest: 50 }]])]]);
    const base = readings({ ends, stored: [{ group: 'g', topic: 't', partition: 0, nextOffset: 90, updatedAtMs: 0 }] });
    const groups = [
      { group: 'g', state: 'Stable', members: 1, isSimpleConsumer: false, committed: [{ topic: 't', partition: 0, offset: 90 }, { topic: 't', partition: 1, offset: 45 }] },
      { group: 'other', state: 'Stable', members: 1, isSimpleConsumer: false, committed: [{ topic: 't', partition: 1, offset: 45 }] },
    ];
    const snap = model.update({ ...base, groups }, 1_000, noProbes, 1);
    const [g, other] = snap.groups;
    expect(g?.topics[0]?.partitions.map((p) => [p.partition, p.offset, p.lag, p.committedOffset])).toEqual([[0, 90, 10, 90], [1, 20, 30, 45]]);
    expect(g).toMatchObject({ offsetSource: 'postgres', sumLag: 40, maxLag: 30 });
    expect(other).toMatchObject({ offsetSource: 'kafka', sumLag: 5, kafkaStatus: null });
    expect(other?.topics[0]?.partitions[0]).toMatchObject({ offset: 45, lag: 5, kafka: null, stored: null });
  });

  it('a one-poll snapshot of a lagging healthy group says "not enough data", not STOP (issue 27)', () => {
    const model = createLagModel({ clusterName: 'c' });
    const stored = [{ group: 'g', topic: 't', partition: 4, nextOffset: 92, updatedAtMs: 9_000 }];
    const ends = new Map([['t', new Map([[4, { earliest: 0, latest: 100 }]])]]);
    const snap = model.update(readings({ committed: undefined, members: 1, stored, ends }), 10_000, noProbes, 1);
    expect(snap.groups[0]?.status).toEqual({
      status: 'OK',
      burrowStatus: 'OK',
      reason: 'incomplete_window',
      detail: 'not enough data: lag 8, 1 of 10 commits in the window over 1 poll(s)',
      complete: 0,
    });
  });

  it('a frozen consumer: stored commits stop while records arrive → STOP once the silence outlasts the window', () => {
    const model = createLagModel({ clusterName: 'c' });
    const poll = (t: number, nextOffset: number, updatedAtMs: number, latest: number) =>
      model.update(
        readings({ members: 1, stored: [{ group: 'g', topic: 't', partition: 0, nextOffset, updatedAtMs }], ends: new Map([['t', new Map([[0, { earliest: 0, latest }]])]]) }),
        t,
        noProbes,
        1,
      ).groups[0]?.status;
    // Healthy: a commit every second, a few records behind at each poll.
    for (let i = 0; i < 10; i++) expect(poll(i * 1_000 + 500, i * 10, i * 1_000, i * 10 + 3 + (i % 3))?.status).toBe('OK');
    // Frozen after the commit at 9 s (offset 90); the topic keeps growing by 10 a second.
    // Burrow's grace holds while a log-end sample at or below 90 is among the last 10 (samples up to 8.5 s):
    // the first poll without one is at 18.5 s, when the silence (9.5 s) also outlasts the window (9 s).
    for (let i = 10; i < 18; i++) expect(poll(i * 1_000 + 500, 90, 9_000, 100 + (i - 10) * 10)?.status).toBe('OK');
    expect(poll(18_500, 90, 9_000, 180)).toMatchObject({ status: 'STOP', detail: 't/0: no commit for 10 s with lag 90' });
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
        views: [{ viewName: 'v', groupId: 'g', lastSourceTime: new Date(70_000), lastEventTime: null, lastCommitTime: new Date(75_000), lastCanaryTime: null }],
      }),
      100_000,
      new Map([[tpKey('t', 0), [{ fromOffset: 40, records: [{ offset: 40, timestampMs: 50_000 }], examinedUpTo: 41 }]]]),
      1,
    );
    expect(snap.views[0]?.freshnessSeconds).toBe(30);
    expect(snap.groups[0]?.topics[0]).toMatchObject({ maxLagSeconds: 50, retentionRisk: 0.5 });
  });
});
