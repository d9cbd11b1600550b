import type { Admin } from 'kafkajs';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../src/command/journal.js';
import { generateMasterData } from '../../src/command/master-data.js';
import { dlqTopicOf } from '../../src/consumers/dead-letter.js';
import { createInventoryProjector, INVENTORY_PROJECTOR_GROUP } from '../../src/consumers/projectors/inventory-projector.js';
import { createConsumerRunner, type ConsumerRunner } from '../../src/consumers/runner.js';
import type { InventoryEvent } from '../../src/events/generated/inventory.js';
import type { EventSerde } from '../../src/events/serde.js';
import { liveGroupId, rebuildGroupId } from '../../src/shared/group-names.js';
import { planWorkload, writeWorkload } from '../helpers/inventory-workload.js';
import { consumerFixture, foldJournal, produceRecords } from '../helpers/pipeline.js';
import { expectReadModelEqualsJournal } from '../helpers/oracle-checks.js';
import { spawnCli, writeConnector, type CliProcess } from '../helpers/process.js';
import { eventually, testLogger, uniqueName, type TestDatabase } from '../helpers/stack.js';

/**
 * `rebuild inventory-projector` (the real CLI) killed with SIGKILL half-way
 * through, then run again: it waits for Kafka to drop the dead member, starts
 * from a clean consumer group, resumes from the offsets PostgreSQL holds for
 * the rebuild, swaps, and leaves nothing behind.
 */
/** Advisory lock key that holds the rebuild half-way (see the trigger below). */
const HOLD_LOCK = 71_234;

describe('rebuild killed half-way and resumed (real CLI process)', () => {
  const prefix = `${uniqueName('t')}.`;
  const liveGroup = liveGroupId(prefix, INVENTORY_PROJECTOR_GROUP);
  const rebuildGroup = rebuildGroupId(liveGroup);
  let f: Awaited<ReturnType<typeof consumerFixture>>;
  let db: TestDatabase;
  let admin: Admin;
  let topic: string;
  let serde: EventSerde<InventoryEvent>;
  let records: JournalRecord[];
  let live: ConsumerRunner | undefined;
  let env: Record<string, string>;
  const procs: CliProcess[] = [];

  const rebuiltRows = async () =>
    (await db.pool.query<{ partition: number; next_offset: number }>('select partition, next_offset from consumer_offsets where group_id = $1 order by 1', [rebuildGroup])).rows;
  const sum = async (group: string) =>
    (await db.pool.query<{ n: number }>('select coalesce(sum(next_offset), 0)::int as n from consumer_offsets where group_id = $1', [group])).rows[0]!.n;

  beforeAll(async () => {
    f = await consumerFixture('rebuild-kill');
    ({ db, admin, topic, serde } = f);
    const { kafka: k, journal, producer } = f;
    records = await writeWorkload(journal, planWorkload({ master: generateMasterData(), inventories: 60, operations: 1500, seed: 23, prefix: 'RK' }));
    await produceRecords(producer, serde, topic, records);
    live = createConsumerRunner({
      kafka: k, pool: db.pool, groupId: liveGroup, topics: [topic], serde,
      handler: createInventoryProjector({ journal, serde, pool: db.pool, logger: testLogger, groupId: liveGroup }),
      logger: testLogger, metrics: new Registry(), maxBatchSize: 200,
    });
    await live.start();
    await eventually(async () => ((await sum(liveGroup)) === records.length ? true : undefined), 120_000, 300);
    env = { DATABASE_URL: db.url, CONNECTOR_FILE: writeConnector(f.table, topic), GROUP_PREFIX: prefix, CONSUMER_BATCH_SIZE: '20' };
  }, 300_000);
  afterAll(async () => {
    for (const p of procs) await p.kill9().catch(() => undefined);
    await live?.stop().catch(() => undefined);
    await admin?.deleteTopics({ topics: [topic, dlqTopicOf(topic, liveGroup), dlqTopicOf(topic, rebuildGroup)] }).catch(() => undefined);
    await f?.close();
  });

  /**
   * Starts `rebuild inventory-projector` and kills it with SIGKILL half-way for sure, however fast or slow
   * the machine: a trigger (this test's own database) makes the rebuild's second offset advance of any
   * partition wait for an advisory lock the test holds, so the rebuild applies one batch per partition and
   * then stands still until it is killed — no race between the test's polls and the rebuild's progress.
   * Returns its offset rows at the kill.
   */
  async function rebuildKilledHalfWay(): Promise<{ partition: number; next_offset: number }[]> {
    await db.pool.query(`create function test_hold_rebuild() returns trigger language plpgsql as $$
      begin
        if old.next_offset > 0 then perform pg_advisory_xact_lock(${HOLD_LOCK}); end if;
        return new;
      end $$`);
    await db.pool.query(`create trigger test_hold_rebuild before update on consumer_offsets for each row
      when (old.group_id = '${rebuildGroup}') execute function test_hold_rebuild()`);
    const holder = await db.pool.connect();
    try {
      await holder.query('select pg_advisory_lock($1)', [HOLD_LOCK]);
      const first = spawnCli(['rebuild', INVENTORY_PROJECTOR_GROUP], env);
      procs.push(first);
      // Waits for the rebuild to be held: it applied something and a batch waits on the lock (generous bound).
      await eventually(async () => {
        const waiting = await db.pool.query<{ n: number }>("select count(*)::int as n from pg_locks where locktype = 'advisory' and objid = $1 and not granted", [HOLD_LOCK]);
        return waiting.rows[0]!.n > 0 && (await rebuiltRows()).some((r) => r.next_offset > 0) ? true : undefined;
      }, 180_000, 200).catch((err: unknown) => {
        throw new Error(`${String(err)}\nrebuild output:\n${first.output().slice(-3000)}`);
      });
      const held = await rebuiltRows();
      await first.kill9();
      // The killed process's backend still waits on the lock (PostgreSQL notices a gone client only when it
      // writes to it): end it, so its open transaction rolls back before anything else moves.
      await db.pool.query("select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and objid = $1 and not granted", [HOLD_LOCK]);
      return held;
    } finally {
      await holder.query('select pg_advisory_unlock($1)', [HOLD_LOCK]);
      holder.release();
      // What runs next goes unhindered.
      await db.pool.query('drop trigger test_hold_rebuild on consumer_offsets; drop function test_hold_rebuild()');
    }
  }

  it('resumes from PostgreSQL after kill -9, swaps, equals the journal fold, and leaves no group, rows or tables', async () => {
    const held = await rebuildKilledHalfWay();
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
    expect(held.some((r) => r.next_offset < ends.get(r.partition)!), `held ${JSON.stringify(held)} ends ${JSON.stringify([...ends])}`).toBe(true);
    const atKill = await sum(rebuildGroup);
    expect(atKill).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(records.length);
    const shadow = await db.pool.query<{ n: number }>("select count(*)::int as n from pg_tables where tablename in ('inventories_rebuild', 'inventory_movements_rebuild')");
    expect(shadow.rows[0]!.n).toBe(2);
    // The dead process's member stays in the group until its session times out.
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).toContain(rebuildGroup);

    const second = spawnCli(['rebuild', INVENTORY_PROJECTOR_GROUP], env);
    procs.push(second);
    const code = await Promise.race([second.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 240_000))]);
    expect(code, second.output().slice(-3000)).toBe(0);
    expect(second.output()).toMatch(new RegExp(`rebuilt ${INVENTORY_PROJECTOR_GROUP} \\(resumed\\): ${records.length} offsets`));

    const expected = foldJournal(records);
    const rows = (await db.pool.query<{ persistence_id: string; on_hand: number; reserved: number; last_sequence_nr: number }>(
      'select persistence_id, on_hand, reserved, last_sequence_nr from inventories',
    )).rows;
    expect(rows).toHaveLength(expected.size);
    for (const r of rows) {
      const s = expected.get(r.persistence_id)!;
      expect([r.on_hand, r.reserved, r.last_sequence_nr], r.persistence_id).toEqual([s.onHand, s.reserved, s.sequenceNr]);
    }
    const movements = await db.pool.query<{ n: number }>('select count(*)::int as n from inventory_movements');
    expect(movements.rows[0]!.n).toBe(records.length);

    expect(await rebuiltRows()).toEqual([]);
    const leftovers = await db.pool.query("select view_name from view_freshness where group_id like '%.rebuild' or view_name like '%\\_rebuild'");
    expect(leftovers.rows).toEqual([]);
    const tables = await db.pool.query("select tablename from pg_tables where tablename like '%\\_old' or tablename like '%\\_rebuild'");
    expect(tables.rows).toEqual([]);
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    expect(groups).toEqual([liveGroup]);
    expect(await admin.listTopics()).not.toContain(dlqTopicOf(topic, rebuildGroup));
    expect(await sum(liveGroup)).toBe(records.length);

    // The CLI's --abort on a finished rebuild finds nothing to remove.
    const abort = spawnCli(['rebuild', INVENTORY_PROJECTOR_GROUP, '--abort'], env);
    procs.push(abort);
    expect(await abort.exited, abort.output()).toBe(0);
    expect(abort.output()).toContain(
      `aborted the rebuild of ${INVENTORY_PROJECTOR_GROUP}: {"tables":[],"offsetRows":0,"stateRows":0,"freshnessRows":0,"kafkaGroup":"absent","dlqTopic":"absent","dlqRecords":0}`,
    );
  });

  it('rebuild --restart after a kill discards the unfinished rebuild, rebuilds from offset 0 and swaps', async () => {
    const held = await rebuildKilledHalfWay();
    expect(held.some((r) => r.next_offset > 0)).toBe(true);
    const restart = spawnCli(['rebuild', INVENTORY_PROJECTOR_GROUP, '--restart'], env);
    procs.push(restart);
    const code = await Promise.race([restart.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 240_000))]);
    expect(code, restart.output().slice(-3000)).toBe(0);
    expect(restart.output()).toMatch(new RegExp(`rebuilt ${INVENTORY_PROJECTOR_GROUP}: ${records.length} offsets`));
    expect(restart.output()).not.toContain('(resumed)');
    await expectReadModelEqualsJournal(db.pool, records);
    expect(await rebuiltRows()).toEqual([]);
    const tables = await db.pool.query("select tablename from pg_tables where tablename like '%\\_old' or tablename like '%\\_rebuild'");
    expect(tables.rows).toEqual([]);
    expect((await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix))).toEqual([liveGroup]);
    expect(await sum(liveGroup)).toBe(records.length);
  });
});
