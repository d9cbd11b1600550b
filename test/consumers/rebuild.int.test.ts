import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../src/command/journal.js';
import { createInventoryProjector } from '../../src/consumers/projectors/inventory-projector.js';
import { rebuildView, type RebuildProgress } from '../../src/consumers/rebuild.js';
import { createConsumerRunner, type ConsumerRunner } from '../../src/consumers/runner.js';
import { consumerFixture, foldJournal, produceRecords, writeHistory } from '../helpers/pipeline.js';
import { eventually, testLogger } from '../helpers/stack.js';

describe('rebuild of the projector into shadow tables with an atomic swap (real servers)', () => {
  let f: Awaited<ReturnType<typeof consumerFixture>>;
  let records: JournalRecord[];
  let live: ConsumerRunner | undefined;

  beforeAll(async () => {
    f = await consumerFixture('rebuild');
    records = await writeHistory(f.journal, 30, 6, 'R');
  });
  afterAll(async () => {
    await live?.stop().catch(() => undefined);
    await f?.close();
  });

  it('replays from offset 0 while readers keep reading, swaps, and equals the incremental state', async () => {
    const { kafka: k, db, serde, journal, topic, groupId, producer } = f;
    await produceRecords(producer, serde, topic, records);
    const projector = (tables?: { inventories: string; movements: string }, group = groupId) =>
      createInventoryProjector({ journal, serde, pool: db.pool, logger: testLogger, groupId: group, ...(tables ? { tables } : {}) });
    live = createConsumerRunner({ kafka: k, pool: db.pool, groupId, topics: [topic], serde, handler: projector(), logger: testLogger, metrics: new Registry() });
    await live.start();
    await eventually(async () => {
      const { rows } = await db.pool.query<{ n: number }>('select coalesce(sum(next_offset), 0)::int as n from consumer_offsets where group_id = $1', [groupId]);
      return rows[0]!.n === records.length ? true : undefined;
    }, 90_000, 500);
    const before = (await db.pool.query('select persistence_id, on_hand, reserved, last_sequence_nr from inventories order by 1')).rows;

    // A reader hammering the live tables for the whole rebuild.
    let reads = 0;
    const failures: string[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        try {
          await db.pool.query('select count(*), sum(on_hand) from inventories join inventory_movements using (persistence_id)');
          reads++;
        } catch (err) {
          failures.push(String(err));
        }
      }
    })();
    const progress: RebuildProgress[] = [];
    const result = await rebuildView({
      kafka: k,
      pool: db.pool,
      topic,
      liveGroup: groupId,
      tables: [{ live: 'inventories' }, { live: 'inventory_movements' }],
      serde,
      makeHandler: (names) => projector({ inventories: names.inventories!, movements: names.inventory_movements! }, `${groupId}.rebuild`),
      logger: testLogger,
      metrics: new Registry(),
      onProgress: (p) => progress.push(p),
    });
    reading = false;
    await reader;

    expect(failures).toEqual([]);
    expect(reads).toBeGreaterThan(0);
    expect(result.events).toBe(records.length);
    expect(progress.at(-1)!.done).toBe(records.length);
    const after = (await db.pool.query('select persistence_id, on_hand, reserved, last_sequence_nr from inventories order by 1')).rows;
    expect(after).toEqual(before);
    const expected = foldJournal(records);
    expect(after).toHaveLength(expected.size);
    const movements = await db.pool.query<{ n: number }>('select count(*)::int as n from inventory_movements');
    expect(movements.rows[0]!.n).toBe(records.length);
    const leftovers = await db.pool.query<{ n: number }>("select count(*)::int as n from pg_tables where tablename like '%\\_old' or tablename like '%\\_rebuild'");
    expect(leftovers.rows[0]!.n).toBe(0);

    // The live group goes on from the rebuild's offsets: new events still apply once.
    const extra = await writeHistory(journal, 2, 4, 'R2');
    await produceRecords(producer, serde, topic, extra);
    await eventually(async () => {
      const { rows } = await db.pool.query<{ n: number }>('select count(*)::int as n from inventory_movements');
      return rows[0]!.n === records.length + extra.length ? true : undefined;
    }, 60_000, 500);
  });
});
