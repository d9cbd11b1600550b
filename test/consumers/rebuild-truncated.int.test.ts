import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../src/command/journal.js';
import type { ConsumerEvent } from '../../src/consumers/consumer-observer.js';
import { journalHighWaterMarks } from '../../src/consumers/integrity.js';
import { createInventoryProjector } from '../../src/consumers/projectors/inventory-projector.js';
import { rebuildView } from '../../src/consumers/rebuild.js';
import { createConsumerRunner, type ConsumerRunner } from '../../src/consumers/runner.js';
import { rebuildGroupId } from '../../src/shared/group-names.js';
import { consumerFixture, foldJournal, produceRecords, writeHistory } from '../helpers/pipeline.js';
import { dynamo, eventually, testLogger } from '../helpers/stack.js';

/**
 * When the topic no longer holds the whole history (retention, or
 * deleteRecords as here), the journal is the truth: a rebuild reads what the
 * topic lost from the journal and equals the journal's fold; a live group
 * whose stored offset lies below the log start stops that partition and says
 * so instead of skipping the lost range.
 */
describe('rebuild after the topic lost its early records (real servers)', () => {
  let f: Awaited<ReturnType<typeof consumerFixture>>;
  let records: JournalRecord[];
  const runners: ConsumerRunner[] = [];

  beforeAll(async () => {
    f = await consumerFixture('rebuild-truncated');
    records = await writeHistory(f.journal, 24, 5, 'RT');
  });
  afterAll(async () => {
    for (const r of runners) await r.stop().catch(() => undefined);
    await f?.close();
  });

  const projector = (group: string, tables?: { inventories: string; movements: string }) =>
    createInventoryProjector({ journal: f.journal, serde: f.serde, pool: f.db.pool, logger: testLogger, groupId: group, ...(tables ? { tables } : {}) });
  const applied = async (group: string) =>
    Number((await f.db.pool.query<{ n: number }>('select coalesce(sum(next_offset), 0)::int as n from consumer_offsets where group_id = $1', [group])).rows[0]!.n);

  it('reads the deleted range from the journal and equals the fold; a live group below the log start stops the partition', async () => {
    const { kafka: k, db, serde, topic, groupId, producer, admin } = f;
    await produceRecords(producer, serde, topic, records);
    const live = createConsumerRunner({ kafka: k, pool: db.pool, groupId, topics: [topic], serde, handler: projector(groupId), logger: testLogger, metrics: new Registry() });
    runners.push(live);
    await live.start();
    await eventually(async () => ((await applied(groupId)) === records.length ? true : undefined), 90_000, 500);

    // Retention takes the first two thirds of every partition (some inventories lose their whole history from the topic).
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.deleteTopicRecords({ topic, partitions: ends.map((e) => ({ partition: e.partition, offset: String(Math.floor((Number(e.high) * 2) / 3)) })) });
    const lows = new Map((await admin.fetchTopicOffsets(topic)).map((e) => [e.partition, Number(e.low)]));
    expect([...lows.values()].every((l) => l > 0)).toBe(true);

    const result = await rebuildView({
      kafka: k,
      pool: db.pool,
      topic,
      liveGroup: groupId,
      tables: [{ live: 'inventories' }, { live: 'inventory_movements' }],
      serde,
      makeHandler: (names) => projector(rebuildGroupId(groupId), { inventories: names.inventories!, movements: names.inventory_movements! }),
      logger: testLogger,
      metrics: new Registry(),
      journal: { highWaterMarks: () => journalHighWaterMarks(dynamo(), f.table), load: (pid, range) => f.journal.load(pid, range) },
    });
    expect(result.deadLetters).toBe(0);

    const expected = foldJournal(records);
    const { rows } = await db.pool.query<{ persistence_id: string; on_hand: number; reserved: number; last_sequence_nr: number }>(
      'select persistence_id, on_hand, reserved, last_sequence_nr from inventories',
    );
    expect(rows).toHaveLength(expected.size);
    for (const r of rows) {
      const s = expected.get(r.persistence_id)!;
      expect([r.persistence_id, r.on_hand, r.reserved, r.last_sequence_nr]).toEqual([r.persistence_id, s.onHand, s.reserved, s.sequenceNr]);
    }
    const movements = await db.pool.query<{ n: number; d: number }>('select count(*)::int as n, count(distinct (persistence_id, sequence_nr))::int as d from inventory_movements');
    expect(movements.rows[0]).toEqual({ n: records.length, d: records.length });

    // A new group whose stored offsets lie below the log start (a database restored from an old backup).
    const stale = `${groupId}.restored`;
    await db.pool.query(`insert into consumer_offsets(group_id, topic, partition, next_offset) select $1, $2, p, 1 from unnest($3::int[]) p`, [
      stale, topic, [...lows.keys()],
    ]);
    const events: ConsumerEvent[] = [];
    const restored = createConsumerRunner({
      kafka: k, pool: db.pool, groupId: stale, topics: [topic], serde, handler: projector(stale), logger: testLogger, metrics: new Registry(),
      observer: (e) => events.push(e),
    });
    runners.push(restored);
    await restored.start();
    const blocked = await eventually(async () => {
      const t = events.flatMap((e) => (e.type === 'blocked' ? [e] : []));
      return t.length === lows.size ? t : undefined;
    }, 60_000, 250);
    expect(blocked.map((e) => [e.partition, e.kind]).sort()).toEqual([...lows.keys()].map((p) => [p, 'below-log-start']).sort());
    for (const e of blocked) expect(e.reason).toContain(`stored offset 1, log start ${lows.get(e.partition)}`);
    // The reason is stored with the offsets (the lag monitor and status read it) and the group is not ready.
    const reasons = await db.pool.query<{ partition: number; blocked_reason: string | null }>(
      'select partition, blocked_reason from consumer_offsets where group_id = $1 order by partition', [stale],
    );
    expect(reasons.rows.every((r) => r.blocked_reason?.includes('were deleted from the topic'))).toBe(true);
    expect(restored.health().blocked.map((b) => b.partition).sort()).toEqual([...lows.keys()].sort());
    // Nothing was skipped silently: the group did not move.
    await new Promise((r) => setTimeout(r, 2000));
    expect(await applied(stale)).toBe(lows.size);
    await restored.stop();
  });
});
