import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide, fold } from '../../src/command/inventory.js';
import type { JournalRecord } from '../../src/command/journal.js';
import { asLatest } from '../../src/command/legacy-versions.js';
import type { ConsumerEvent } from '../../src/consumers/consumer-observer.js';
import { applyOffsetReset, checkGroupOffsets, planOffsetReset } from '../../src/consumers/offset-reset.js';
import { createInventoryProjector } from '../../src/consumers/projectors/inventory-projector.js';
import { createConsumerRunner, type ConsumerRunner } from '../../src/consumers/runner.js';
import { createTopicsAndWait } from '../../src/log/topics.js';
import { sleep } from '../../src/shared/retry.js';
import { expectReadModelEqualsJournal } from '../helpers/assertions.js';
import { partitionForKey } from '../../src/log/partitioner.js';
import { consumerFixture, produceRecords, writeHistory } from '../helpers/pipeline.js';
import { eventually, testLogger, uniqueName } from '../helpers/stack.js';

/**
 * Never skip silently: offsets stored in PostgreSQL for one incarnation of a
 * topic must not be read on from in another (recreated topic, another
 * cluster, a restored database). The partition stays stopped with its reason
 * until an operator moves the offsets on purpose; then the read model equals
 * the journal's fold.
 */
describe('stored offsets of another topic incarnation (real servers)', () => {
  let f: Awaited<ReturnType<typeof consumerFixture>>;
  let history: JournalRecord[];
  const runners: ConsumerRunner[] = [];

  beforeAll(async () => {
    f = await consumerFixture('offset-incarnation');
    history = await writeHistory(f.journal, 30, 6, 'OI');
  });
  afterAll(async () => {
    for (const r of runners) await r.stop().catch(() => undefined);
    await f?.close();
  });

  const start = async (group: string, events: ConsumerEvent[] = []) => {
    const runner = createConsumerRunner({
      kafka: f.kafka, pool: f.db.pool, groupId: group, topics: [f.topic], serde: f.serde,
      handler: createInventoryProjector({ journal: f.journal, serde: f.serde, pool: f.db.pool, logger: testLogger, groupId: group }),
      logger: testLogger, metrics: new Registry(), sessionTimeoutMs: 6_000, observer: (e) => events.push(e),
    });
    runners.push(runner);
    await runner.start();
    return runner;
  };
  /** Starts `group` and waits until each of the three partitions reports itself blocked. */
  const startBlocked = async (group: string) => {
    const events: ConsumerEvent[] = [];
    const runner = await start(group, events);
    const blocked = await eventually(async () => {
      const b = events.flatMap((e) => (e.type === 'blocked' ? [e] : []));
      return b.length === 3 ? b : undefined;
    }, 60_000, 200);
    return { runner, blocked };
  };
  const stored = async (group: string) =>
    new Map(
      (await f.db.pool.query<{ partition: number; next_offset: string; blocked_reason: string | null }>(
        'select partition, next_offset, blocked_reason from consumer_offsets where group_id = $1 order by partition', [group],
      )).rows.map((r) => [r.partition, { next: Number(r.next_offset), blocked: r.blocked_reason }]),
    );
  const caughtUp = async (group: string) => {
    const ends = await f.admin.fetchTopicOffsets(f.topic);
    await eventually(async () => {
      const s = await stored(group);
      return ends.every((e) => (s.get(e.partition)?.next ?? 0) >= Number(e.high)) ? true : undefined;
    }, 90_000, 250);
  };
  /** A fresh read model; the history relayed to the topic and consumed by `group` to its end, then the group stopped. */
  const consumedOnce = async (group: string) => {
    await f.db.pool.query('truncate inventories, inventory_movements');
    await produceRecords(f.producer, f.serde, f.topic, history);
    const first = await start(group);
    await caughtUp(group);
    await first.stop();
  };
  /** The read model and movements against the independent oracle's fold of every journal record written so far. */
  const expectReadModelEqualsFold = async (records: JournalRecord[]) => {
    await expectReadModelEqualsJournal(f.db.pool, records);
  };
  /** Deletes the topic and creates it again under the same name (Kafka deletes asynchronously: retried until the name is free). */
  const recreateTopic = async () => {
    await f.admin.deleteTopics({ topics: [f.topic], timeout: 30_000 });
    await eventually(async () => ((await f.admin.listTopics()).includes(f.topic) ? undefined : true), 60_000, 200);
    await eventually(
      () => createTopicsAndWait(f.admin, [{ topic: f.topic, numPartitions: 3 }]).then(() => true, () => undefined),
      60_000,
      500,
    );
  };
  /** More events for some inventories, appended through the aggregate and the journal writer (the command side). */
  const moreEvents = async (n: number, tag: string): Promise<JournalRecord[]> => {
    const out: JournalRecord[] = [];
    // Ids taken round-robin over the topic's 3 partitions, so n ≥ 3 events reach every partition. (History is written
    // 4 aggregates at a time, so its order varies from run to run: picking by position left a partition without a new
    // event about one run in twenty, and the first case's premise — log end past the stored offsets everywhere — failed.)
    const ids = [...new Set(history.map((r) => r.persistenceId))].sort();
    const byPartition = [0, 1, 2].map((p) => ids.filter((id) => partitionForKey(id, 3) === p));
    for (let i = 0; i < n; i++) {
      const onPartition = byPartition[i % 3]!;
      const pid = onPartition[Math.floor(i / 3) % onPartition.length]!;
      const mine = [...history, ...out].filter((r) => r.persistenceId === pid).sort((a, b) => a.sequenceNr - b.sequenceNr);
      const state = fold(pid, mine.map((r) => f.serde.decodeRaw(r.eventType, r.schemaVersion, r.payload)));
      const events = decide(state, { kind: 'receive', quantity: 5, lotNumber: `${tag}-${i}`, supplierId: null, expiryDate: null });
      out.push(...(await f.journal.append({ persistenceId: pid, expectedSequenceNr: state.sequenceNr, events: events.map(asLatest) })));
    }
    return out;
  };

  it('recreated topic, new log end past the stored offsets: blocked with both records named, nothing applied; reset to earliest heals', async () => {
    const group = uniqueName('inc-a');
    await produceRecords(f.producer, f.serde, f.topic, history);
    const first = await start(group);
    await caughtUp(group);
    await first.stop();
    await expectReadModelEqualsFold(history);
    const before = await stored(group);

    // The operator recreates the topic; the bridge relays the whole journal again (another order: newest first), plus new events.
    await recreateTopic();
    const added = await moreEvents(12, 'a');
    await produceRecords(f.producer, f.serde, f.topic, [...history].reverse().concat(added));
    const ends = new Map((await f.admin.fetchTopicOffsets(f.topic)).map((e) => [e.partition, Number(e.high)]));
    expect([...before].every(([p, s]) => ends.get(p)! > s.next)).toBe(true);

    const { runner: second, blocked: blocked } = await startBlocked(group);
    expect(blocked.map((b) => b.kind)).toEqual(['topic-recreated', 'topic-recreated', 'topic-recreated']);
    for (const b of blocked) expect(b.reason).toMatch(/stored offset \d+ \(after inventory-OI-\d+ seq \d+ at offset \d+\) was stored for topic ID [0-9a-f-]{36}, and the topic now has ID [0-9a-f-]{36}/);
    expect(second.health().blocked).toHaveLength(3);
    // Nothing moved, and the reason is stored where the lag monitor and status read it.
    await sleep(1500);
    const during = await stored(group);
    expect([...during].map(([p, s]) => [p, s.next])).toEqual([...before].map(([p, s]) => [p, s.next]));
    expect([...during.values()].every((s) => s.blocked?.includes('the topic now has ID'))).toBe(true);
    await second.stop();

    // Offsets stored before topic IDs were kept (or on a cluster that gives none): the witness alone tells.
    await f.db.pool.query('update consumer_offsets set topic_id = null where group_id = $1', [group]);
    const { runner: third, blocked: byWitness } = await startBlocked(group);
    expect(byWitness.map((b) => b.kind)).toEqual(['other-record', 'other-record', 'other-record']);
    for (const b of byWitness) expect(b.reason).toMatch(/the group applied inventory-OI-\d+ seq \d+ at offset \d+ before its stored offset \d+, but the topic now holds /);
    // The check an operator runs says the same without joining the group.
    expect((await checkGroupOffsets({ kafka: f.kafka, pool: f.db.pool, group, topic: f.topic })).map((c) => c.verdict.ok)).toEqual([false, false, false]);

    // The remedy refuses while the group runs, then moves it.
    const plan = await planOffsetReset({ kafka: f.kafka, pool: f.db.pool, group, topic: f.topic, to: { kind: 'earliest' } });
    expect(plan.rows.map((r) => [r.partition, r.to, r.witness])).toEqual([[0, 0, null], [1, 0, null], [2, 0, null]]);
    await expect(applyOffsetReset({ kafka: f.kafka, pool: f.db.pool, plan })).rejects.toThrow(/running member/);
    await third.stop();
    await eventually(async () => ((await f.admin.describeGroups([group])).groups[0]!.members.length === 0 ? true : undefined), 30_000, 200);
    await applyOffsetReset({ kafka: f.kafka, pool: f.db.pool, plan });
    expect([...(await stored(group)).values()].map((s) => [s.next, s.blocked])).toEqual([[0, null], [0, null], [0, null]]);

    const fourth = await start(group);
    await caughtUp(group);
    expect(fourth.health().blocked).toEqual([]);
    await fourth.stop();
    await expectReadModelEqualsFold([...history, ...added]);
    history.push(...added);
  });

  it('recreated topic, new log end below the stored offsets: blocked beyond the log end (the client never resets it by itself)', async () => {
    const group = uniqueName('inc-b');
    await consumedOnce(group);
    const before = await stored(group);

    await recreateTopic();
    const added = await moreEvents(6, 'b');
    await produceRecords(f.producer, f.serde, f.topic, added);
    // As on a cluster that gives no topic IDs: the log end tells.
    await f.db.pool.query('update consumer_offsets set topic_id = null where group_id = $1', [group]);
    const { runner: second, blocked: blocked } = await startBlocked(group);
    expect(blocked.map((b) => b.kind)).toEqual(['beyond-log-end', 'beyond-log-end', 'beyond-log-end']);
    await sleep(1500);
    expect([...(await stored(group))].map(([p, s]) => [p, s.next])).toEqual([...before].map(([p, s]) => [p, s.next]));
    await second.stop();

    // Reset to the log end: the group takes the new topic from here (its 6 events are skipped on purpose)…
    await eventually(async () => ((await f.admin.describeGroups([group])).groups[0]!.members.length === 0 ? true : undefined), 30_000, 200);
    const ends = await f.admin.fetchTopicOffsets(f.topic);
    const plan = await planOffsetReset({ kafka: f.kafka, pool: f.db.pool, group, topic: f.topic, to: { kind: 'latest' } });
    expect(plan.rows.map((r) => r.to)).toEqual(ends.sort((a, b) => a.partition - b.partition).map((e) => Number(e.high)));
    // …and records the new incarnation: the witness is the last record below each new offset.
    for (const r of plan.rows) expect(r.witness === null).toBe(r.to === 0);
    await applyOffsetReset({ kafka: f.kafka, pool: f.db.pool, plan });
    const checks = await checkGroupOffsets({ kafka: f.kafka, pool: f.db.pool, group, topic: f.topic });
    expect(checks.map((c) => c.verdict)).toEqual(plan.rows.map((r) => ({ ok: true, verified: r.witness !== null })));
    history.push(...added);
  });

  it('an offsets snapshot restored next to a topic that moved on: blocked when the snapshot is of another incarnation, read on when it is of this one', async () => {
    const group = uniqueName('inc-c');
    await consumedOnce(group);
    const snapshot = (await f.db.pool.query('select * from consumer_offsets where group_id = $1', [group])).rows;

    // The same topic moves on; restoring the older snapshot is no reason to stop (the witness is still there).
    const added = await moreEvents(6, 'c');
    await produceRecords(f.producer, f.serde, f.topic, added);
    history.push(...added);
    const restore = async () => {
      await f.db.pool.query('delete from consumer_offsets where group_id = $1', [group]);
      for (const r of snapshot as Record<string, unknown>[]) {
        const cols = Object.keys(r);
        await f.db.pool.query(`insert into consumer_offsets(${cols.join(', ')}) values (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(r));
      }
    };
    await restore();
    const events: ConsumerEvent[] = [];
    const second = await start(group, events);
    await caughtUp(group);
    expect(events.filter((e) => e.type === 'blocked')).toEqual([]);
    expect(events.filter((e) => e.type === 'positioned').map((e) => (e.type === 'positioned' ? e.basis : ''))).toEqual(['verified', 'verified', 'verified']);
    await second.stop();
    await expectReadModelEqualsFold(history);

    // Another incarnation: the snapshot's offsets name other records there.
    await recreateTopic();
    await produceRecords(f.producer, f.serde, f.topic, [...history].reverse());
    await restore();
    const { runner: third } = await startBlocked(group);
    await third.stop();
    await eventually(async () => ((await f.admin.describeGroups([group])).groups[0]!.members.length === 0 ? true : undefined), 30_000, 200);
    const plan = await planOffsetReset({ kafka: f.kafka, pool: f.db.pool, group, topic: f.topic, to: { kind: 'earliest' } });
    await applyOffsetReset({ kafka: f.kafka, pool: f.db.pool, plan });
    const fourth = await start(group);
    await caughtUp(group);
    await fourth.stop();
    await expectReadModelEqualsFold(history);
  });

  it('a topic recreated under a running group: blocked, never read on from the old offsets', async () => {
    const group = uniqueName('inc-d');
    await f.db.pool.query('truncate inventories, inventory_movements');
    await produceRecords(f.producer, f.serde, f.topic, history);
    const events: ConsumerEvent[] = [];
    const runner = await start(group, events);
    await caughtUp(group);
    const before = await stored(group);
    await recreateTopic();
    const added = await moreEvents(6, 'd');
    await produceRecords(f.producer, f.serde, f.topic, [...history].reverse().concat(added));
    history.push(...added);
    await eventually(async () => (events.filter((e) => e.type === 'blocked' && e.kind === 'topic-recreated').length === 3 ? true : undefined), 90_000, 200).catch((err: unknown) => {
      throw new Error(`${String(err)}: ${JSON.stringify(events.map((e) => e.type === 'applied' ? [e.partition, e.records, e.outcome.applied, e.outcome.duplicates] : e.type))} before ${JSON.stringify([...before])} after`);
    });
    expect([...(await stored(group))].map(([p, s]) => [p, s.next])).toEqual([...before].map(([p, s]) => [p, s.next]));
    await runner.stop();
  });
});
