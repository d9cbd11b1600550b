import { describe, expect, it } from 'vitest';
import type { StatusReason } from '../../src/monitor/burrow.js';
import { emptySnapshot, type GroupLag, type LagSnapshot } from '../../src/monitor/lag-snapshot.js';
import { evaluateStatus, renderStatus, type StatusInput } from '../../src/monitor/pipeline-status.js';
import { parseMetrics, type ScrapeResult } from '../../src/monitor/scrape.js';

describe('parseMetrics', () => {
  it('reads names, escaped label values and special values; skips comments', () => {
    const s = parseMetrics(
      ['# HELP x y', 'a 1', 'b{l="v \\"q\\"",m="2"} 3.5 1700000000', 'c{} +Inf', 'd NaN', 'broken'].join('\n'),
    );
    expect(s.map((x) => x.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(s[1]).toEqual({ name: 'b', labels: { l: 'v "q"', m: '2' }, value: 3.5 });
    expect(s[2]!.value).toBe(Infinity);
  });
});

const group = (name: string, status: string, lag: number, reason: StatusReason = 'caught_up'): GroupLag => ({
  group: name,
  kind: 'live',
  state: 'Stable',
  members: 1,
  isSimpleConsumer: false,
  offsetSource: 'postgres',
  maxLag: lag,
  maxLagSeconds: lag ? 30 : 0,
  sumLag: lag,
  status: { status: status as 'OK', burrowStatus: status as 'OK', reason, detail: `d-${status}`, complete: 1 },
  kafkaStatus: null,
  topics: [{ topic: 't', sumLag: lag, maxLagSeconds: 0, retentionRisk: null, partitions: [
    { partition: 0, logStartOffset: 0, logEndOffset: 10, offset: 10 - lag, committedOffset: 10 - lag, lag, lagSeconds: 0, lagSecondsMethod: 'zero', status: status as 'OK', reason,
      kafka: null, stored: { offset: 10 - lag, updatedAt: '', lag, lagSeconds: 0, disagree: false }, blocked: null },
  ] }],
});

const ready: ScrapeResult = { target: '127.0.0.1:1', labels: { roles: 'views' }, file: 'f', up: true, ready: true, readyBody: {}, samples: [] };

function input(over: Partial<StatusInput> & { lag?: LagSnapshot | null }): StatusInput {
  return { now: 1_000_000, targetsDir: 'dir', scrapes: [ready], lag: emptySnapshot('c'), groups: [], dlq: [], staleAfterSeconds: 60, ...over };
}

describe('evaluateStatus', () => {
  it('a healthy pipeline has no problem', () => {
    const lag = { ...emptySnapshot('c'), groups: [group('g', 'OK', 0)], views: [{ view: 'v', group: 'g', lastSourceTime: null, lastCommitTime: null, freshnessSeconds: 9999 }] };
    const st = evaluateStatus(input({ lag, groups: ['g'] }));
    expect(st.problems).toEqual([]);
    expect(st.views[0]!.stale).toBe(false); // idle: nothing to apply, however old
    expect(renderStatus(st)).toContain(': OK');
  });

  it('STOP/STALL/ERR groups, a not-ready process, a failed shard, a stale view and dead letters need a person; WARN and parked ids do not', () => {
    const lag = {
      ...emptySnapshot('c'),
      groups: [group('a', 'STOP', 0), group('b', 'WARN', 0), group('c', 'OK', 5)],
      views: [{ view: 'v', group: 'c', lastSourceTime: null, lastCommitTime: null, freshnessSeconds: 61 }],
    };
    const scrapes: ScrapeResult[] = [
      { ...ready, ready: false, readyBody: { ready: false, consumers: { a: { state: 'retrying', reason: 'db down' } } },
        samples: [{ name: 'cdc_bridge_shards', labels: { state: 'failed' }, value: 1 }, { name: 'consumer_parked_ids', labels: { group: 'c' }, value: 2 }] },
      { ...ready, target: '127.0.0.1:2', up: false, error: 'ECONNREFUSED' },
    ];
    const st = evaluateStatus(input({ lag, groups: ['a', 'b', 'c'], scrapes, dlq: [{ topic: 't.dlq.a', records: 3 }] }));
    expect(st.problems).toEqual([
      'process 127.0.0.1:1 (views) is not ready: a: retrying (db down)',
      'process 127.0.0.1:2 (views) does not answer /metrics: ECONNREFUSED',
      expect.stringContaining('1 bridge shard(s) stopped'),
      'group a is STOP: d-STOP',
      'view v is stale: newest event 61 s old with 5 record(s) unconsumed by c',
      '3 dead letter(s) in t.dlq.a (cli dlq list, then replay or purge)',
    ]);
    expect(st.warnings).toEqual(['group b is WARN: d-WARN', '2 id(s) of c parked, waiting for a journal range']);
  });

  it('a lagging group without enough history is NO DATA, a warning, never STOP (issue 27)', () => {
    const g = group('g', 'OK', 8, 'incomplete_window');
    g.status!.detail = 'not enough data: lag 8, 1 of 10 commits in the window over 1 poll(s)';
    const lag = { ...emptySnapshot('c'), groups: [g] };
    const st = evaluateStatus(input({ lag, groups: ['g'], lagSource: { kind: 'own-poll', polls: 1, why: 'no lag monitor announced' } }));
    expect(st.problems).toEqual([]);
    expect(st.groups[0]?.status).toBe('NO DATA');
    expect(st.warnings).toEqual([
      'group g: not enough data: lag 8, 1 of 10 commits in the window over 1 poll(s); STOP and STALL are not judged (no lag monitor announced: a poll of our own has no history; run the monitor role, or status --watch)',
    ]);
    const screen = renderStatus(st);
    expect(screen).toContain('consumer groups (own poll: no lag monitor announced)');
    expect(screen).toMatch(/\n {2}g\s+NO DATA\s+8\s+30\.0 {2}agree\s+not enough data/);
  });

  it("Kafka's committed offsets alone saying STALL is a warning when the stored ones say OK", () => {
    const g = group('g', 'OK', 0);
    g.kafkaStatus = { status: 'STALL', burrowStatus: 'ERR', reason: 'offset_not_advancing', detail: 't/0: 10 commits at offset 2646 with lag 1134', complete: 1 };
    g.topics[0]!.partitions[0]!.stored!.disagree = true;
    const lag = { ...emptySnapshot('c'), groups: [g] };
    const st = evaluateStatus(input({ lag, groups: ['g'], lagSource: { kind: 'monitor', target: '127.0.0.1:9', polledAgoSeconds: 1.25 } }));
    expect(st.problems).toEqual([]);
    expect(st.warnings).toEqual([
      'group g: Kafka-committed and stored offsets disagree on partition(s) 0',
      'group g: its Kafka-committed offsets alone would say STALL (t/0: 10 commits at offset 2646 with lag 1134); advisory — it stands where consumer_offsets says',
    ]);
    expect(renderStatus(st)).toContain('consumer groups (lag monitor at 127.0.0.1:9, polled 1.3 s ago)');
  });

  it('names dead letters that arrived since the previous refresh', () => {
    const previous = evaluateStatus(input({ dlq: [{ topic: 'd', records: 1 }] }));
    const st = evaluateStatus(input({ dlq: [{ topic: 'd', records: 4 }], previous }));
    expect(st.warnings).toContain('3 new dead letter(s) in d since the previous refresh');
  });
});
