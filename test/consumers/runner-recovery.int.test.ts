import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../src/command/journal.js';
import { dlqTopicOf } from '../../src/consumers/dead-letter.js';
import { listDeadLetters } from '../../src/consumers/dlq-admin.js';
import type { ConsumerHandler } from '../../src/consumers/handler.js';
import { createInventoryProjector } from '../../src/consumers/projectors/inventory-projector.js';
import type { ConsumerEvent } from '../../src/consumers/consumer-observer.js';
import { createConsumerRunner, type ConsumerRunner } from '../../src/consumers/runner.js';
import type { InventoryEvent } from '../../src/events/generated/inventory.js';
import { ValidationError } from '../../src/shared/errors.js';
import type { RecoveryPolicy } from '../../src/consumers/recovery.js';
import { consumerFixture, foldJournal, freshRegistry, produceRecords, writeHistory } from '../helpers/pipeline.js';
import { eventually, testLogger } from '../helpers/stack.js';

/**
 * The runner's recovery against the real PostgreSQL: infrastructure failures
 * (the server terminating the connection, a lock timeout, a deadlock) are
 * retried however often they repeat and never reach the DLQ, and partitions
 * are positioned from PostgreSQL on assignment even when no record arrives.
 */
describe('consumer runner recovery (real Kafka, PostgreSQL)', () => {
  let f: Awaited<ReturnType<typeof consumerFixture>>;
  let records: JournalRecord[];
  const runners: ConsumerRunner[] = [];

  beforeAll(async () => {
    f = await consumerFixture('runner-recovery', 3);
    records = await writeHistory(f.journal, 12, 5, 'RR');
    await produceRecords(f.producer, f.serde, f.topic, records);
    await f.db.pool.query('create table test_lock (id int primary key)');
    await f.db.pool.query('insert into test_lock values (1)');
  });
  afterAll(async () => {
    for (const r of runners) await r.stop().catch(() => undefined);
    await f?.close();
  });

  const projector = (groupId: string) => createInventoryProjector({ journal: f.journal, serde: f.serde, pool: f.db.pool, logger: testLogger, groupId });
  /** The read model is the fold of `journal`, and the audit log holds each of its events once. */
  const expectAppliedOnce = async (journal: JournalRecord[]) => {
    const expected = foldJournal(journal);
    const { rows } = await f.db.pool.query<{ persistence_id: string; on_hand: number; last_sequence_nr: number }>(
      'select persistence_id, on_hand, last_sequence_nr from inventories',
    );
    expect(rows).toHaveLength(expected.size);
    for (const r of rows) expect([r.on_hand, r.last_sequence_nr], r.persistence_id).toEqual([expected.get(r.persistence_id)!.onHand, expected.get(r.persistence_id)!.sequenceNr]);
    const movements = await f.db.pool.query<{ n: number; d: number }>('select count(*)::int as n, count(distinct (persistence_id, sequence_nr))::int as d from inventory_movements');
    expect(movements.rows[0]).toEqual({ n: journal.length, d: journal.length });
  };
  const applied = async (groupId: string) =>
    Number((await f.db.pool.query<{ n: number }>('select coalesce(sum(next_offset), 0)::int as n from consumer_offsets where group_id = $1', [groupId])).rows[0]!.n);

  it('retries terminated connections, lock timeouts and deadlocks past the attempts, dead-letters nothing, applies once', async () => {
    const groupId = `${f.groupId}.infra`;
    const real = projector(groupId);
    // More failures than the policy's attempts (3), of each kind, real server errors every one.
    const faults = ['terminate', 'lock-timeout', 'deadlock', 'terminate', 'lock-timeout', 'deadlock', 'terminate'];
    const injected: string[] = [];
    const holder = await f.db.pool.connect();
    await holder.query('begin');
    await holder.query('select * from test_lock for update');
    const flaky: ConsumerHandler<InventoryEvent> = {
      views: real.views,
      async applyBatch(events, tx) {
        const fault = faults.shift();
        if (fault) injected.push(fault);
        if (fault === 'terminate') {
          const { rows } = await tx.query<{ pid: number }>('select pg_backend_pid() as pid');
          await f.db.pool.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
          await tx.query('select 1');
        } else if (fault === 'lock-timeout') {
          await tx.query("set local lock_timeout = '50ms'");
          await tx.query('select * from test_lock for update');
        } else if (fault === 'deadlock') {
          await tx.query("do $$ begin raise exception 'deadlock detected (injected)' using errcode = '40P01'; end $$");
        }
        return real.applyBatch(events, tx);
      },
    };
    const events: ConsumerEvent[] = [];
    const runner = createConsumerRunner({
      kafka: f.kafka, pool: f.db.pool, groupId, topics: [f.topic], serde: f.serde, handler: flaky,
      logger: testLogger, metrics: freshRegistry(), recovery: { kind: 'retryAndDeadLetter', attempts: 3, delayMs: 10 },
      observer: (e) => events.push(e),
    });
    runners.push(runner);
    await runner.start();
    await eventually(async () => ((await applied(groupId)) === records.length ? true : undefined), 120_000, 250);
    await holder.query('rollback');
    holder.release();

    expect(injected).toEqual(['terminate', 'lock-timeout', 'deadlock', 'terminate', 'lock-timeout', 'deadlock', 'terminate']);
    // A fault in a transaction that joined several partitions' batches is one joint failure, after which each applies alone.
    const failures = events.filter((e) => e.type === 'batch-failed' || e.type === 'joint-failed');
    expect(failures.length).toBeGreaterThanOrEqual(7);
    expect(failures.every((e) => (e.type === 'batch-failed' || e.type === 'joint-failed') && e.kind === 'infrastructure')).toBe(true);
    expect(runner.health().state).toBe('running');
    expect(await listDeadLetters(f.kafka, dlqTopicOf(f.topic, groupId))).toHaveLength(0);

    // Applied once: the read model is the fold of the journal, the audit log has each event once.
    await expectAppliedOnce(records);
    await runner.stop();
    expect(runner.health().state).toBe('stopped');
  });

  it('positions idle partitions at the offset PostgreSQL holds when Kafka is ahead, behind or has none', async () => {
    const groupId = `${f.groupId}.positions`;
    // First pass: everything applied; Kafka's committed offsets are at the end of every partition.
    const first = createConsumerRunner({ kafka: f.kafka, pool: f.db.pool, groupId, topics: [f.topic], serde: f.serde, handler: projector(groupId), logger: testLogger, metrics: freshRegistry() });
    await first.start();
    await eventually(async () => ((await applied(groupId)) === records.length ? true : undefined), 120_000, 250);
    await first.stop();

    // PostgreSQL restored from an older backup: partition 0 has no row (log start), partition 1 is behind
    // Kafka, partition 2 stays where it is. No new records arrive anywhere.
    const stored = new Map((await f.db.pool.query<{ partition: number; next_offset: number }>(
      'select partition, next_offset from consumer_offsets where group_id = $1', [groupId])).rows.map((r) => [r.partition, r.next_offset]));
    await f.db.pool.query('delete from consumer_offsets where group_id = $1 and partition = 0', [groupId]);
    await f.db.pool.query('update consumer_offsets set next_offset = 1 where group_id = $1 and partition = 1', [groupId]);
    await f.db.pool.query(`truncate inventories, inventory_movements`);
    const events: ConsumerEvent[] = [];
    const second = createConsumerRunner({
      kafka: f.kafka, pool: f.db.pool, groupId, topics: [f.topic], serde: f.serde, handler: projector(groupId), logger: testLogger,
      metrics: freshRegistry(), observer: (e) => events.push(e),
    });
    runners.push(second);
    await second.start();
    await eventually(async () => {
      const now = new Map((await f.db.pool.query<{ partition: number; next_offset: number }>(
        'select partition, next_offset from consumer_offsets where group_id = $1', [groupId])).rows.map((r) => [r.partition, r.next_offset]));
      return [0, 1, 2].every((p) => now.get(p) === stored.get(p)) ? true : undefined;
    }, 120_000, 250);
    const positioned = events.flatMap((e) => (e.type === 'positioned' ? [[e.partition, e.offset, e.basis] as const] : []));
    // Partitions 1 and 2 kept their witness (the last record applied, still in the topic): verified before reading on.
    expect(positioned).toEqual(expect.arrayContaining([[0, 0, 'log-start'], [1, 1, 'verified'], [2, stored.get(2)!, 'verified']]));
    // Partitions 0 and 1 were re-read from where PostgreSQL stood: their movements are back, exactly once.
    const { rows } = await f.db.pool.query<{ n: number; d: number }>('select count(*)::int as n, count(distinct (persistence_id, sequence_nr))::int as d from inventory_movements');
    expect(rows[0]!.n).toBe(rows[0]!.d);
    expect(rows[0]!.n).toBeGreaterThan(0);
    await second.stop();
  });

  it.each<[string, RecoveryPolicy]>([
    ['fail', { kind: 'fail' }],
    ['retryAndFail', { kind: 'retryAndFail', attempts: 2, delayMs: 10 }],
    ['skip', { kind: 'skip' }],
  ])('a data error under %s: the policy decides, nothing is dead-lettered', async (name, recovery) => {
    const groupId = `${f.groupId}.policy-${name}`;
    const events: ConsumerEvent[] = [];
    const broken: ConsumerHandler<InventoryEvent> = {
      views: [],
      async applyBatch() {
        throw new ValidationError('this handler refuses every event');
      },
    };
    const runner = createConsumerRunner({
      kafka: f.kafka, pool: f.db.pool, groupId, topics: [f.topic], serde: f.serde, handler: broken, logger: testLogger,
      metrics: freshRegistry(), recovery, observer: (e) => events.push(e),
    });
    runners.push(runner);
    await runner.start();
    if (recovery.kind === 'skip') {
      await eventually(async () => ((await applied(groupId)) === records.length ? true : undefined), 120_000, 250);
      const skipped = events.reduce((n, e) => n + (e.type === 'skipped' ? e.count : 0), 0);
      expect(skipped).toBe(records.length);
      expect(runner.health().state).toBe('running');
    } else {
      await eventually(async () => (runner.health().state === 'failed' ? true : undefined), 60_000, 100);
      const attempts = events.filter((e) => e.type === 'batch-failed' && e.kind === 'data').length;
      expect(attempts).toBeGreaterThanOrEqual(recovery.kind === 'retryAndFail' ? 2 : 1);
      expect(await applied(groupId)).toBe(0);
    }
    expect(await listDeadLetters(f.kafka, dlqTopicOf(f.topic, groupId))).toHaveLength(0);
    await runner.stop();
  });
  // Last in this file: it adds records to the topic the tests above count.
  it('the small batches of one fetch commit in one transaction; a failure there costs no batch an attempt, even under `fail`', async () => {
    const groupId = `${f.groupId}.joint`;
    await f.db.pool.query('truncate inventories, inventory_movements'); // the read model is shared by the groups above
    const real = projector(groupId);
    const partitionsOf = new Map<string, Set<number>>(); // PostgreSQL transaction id → partitions it applied
    let refusedIn: string | undefined;
    const joining: ConsumerHandler<InventoryEvent> = {
      views: real.views,
      async applyBatch(events, tx) {
        const { rows } = await tx.query<{ id: string }>('select txid_current()::text as id');
        const id = rows[0]!.id;
        const parts = partitionsOf.get(id) ?? new Set<number>();
        for (const e of events) parts.add(e.partition);
        partitionsOf.set(id, parts);
        if (refusedIn === undefined && parts.size > 1) {
          refusedIn = id;
          throw new ValidationError('refused once, in a transaction that joined several partitions');
        }
        return real.applyBatch(events, tx);
      },
    };
    const events: ConsumerEvent[] = [];
    const runner = createConsumerRunner({
      kafka: f.kafka, pool: f.db.pool, groupId, topics: [f.topic], serde: f.serde, handler: joining, logger: testLogger,
      metrics: freshRegistry(), recovery: { kind: 'fail' }, observer: (e) => events.push(e),
    });
    runners.push(runner);
    await runner.start();
    const all = [...records];
    await eventually(async () => ((await applied(groupId)) === all.length ? true : undefined), 120_000, 250);
    // Waves written to every partition at once, until a joint transaction failed and a later one committed.
    const committedJoint = () => [...partitionsOf].some(([id, parts]) => id !== refusedIn && parts.size > 1);
    for (let wave = 0; wave < 10 && !(refusedIn && committedJoint()); wave++) {
      const more = await writeHistory(f.journal, 9, 3, `RJ${wave}`);
      await produceRecords(f.producer, f.serde, f.topic, more);
      all.push(...more);
      await eventually(async () => ((await applied(groupId)) === all.length ? true : undefined), 120_000, 250);
    }
    expect(refusedIn).toBeDefined();
    expect(committedJoint()).toBe(true);
    const failures = events.filter((e) => e.type === 'joint-failed' || e.type === 'batch-failed');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ type: 'joint-failed', kind: 'data' });
    expect(runner.health().state).toBe('running');
    expect(await listDeadLetters(f.kafka, dlqTopicOf(f.topic, groupId))).toHaveLength(0);
    // Each event once: the read model is the fold of everything produced.
    await expectAppliedOnce(all);
    await runner.stop();
  });
});
