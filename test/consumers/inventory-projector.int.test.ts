import type { Kafka, Admin, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Journal, JournalRecord } from '../../src/command/journal.js';
import type { InventoryEvent } from '../../src/events/generated/inventory.js';
import type { EventSerde } from '../../src/events/serde.js';
import { dlqTopicOf } from '../../src/consumers/dead-letter.js';
import { createInventoryProjector } from '../../src/consumers/projectors/inventory-projector.js';
import { createConsumerRunner, type ConsumerRunner } from '../../src/consumers/runner.js';
import { consumerFixture, foldJournal, freshRegistry, produceRecords, toMessage, writeHistory } from '../helpers/pipeline.js';
import { eventually, testLogger, uniqueName, type TestDatabase } from '../helpers/stack.js';

describe('inventory projector (real Kafka, registry, DynamoDB, PostgreSQL)', () => {
  let f: Awaited<ReturnType<typeof consumerFixture>>;
  let k: Kafka;
  let topic: string;
  let groupId: string;
  let admin: Admin;
  let producer: Producer;
  let db: TestDatabase;
  let serde: EventSerde<InventoryEvent>;
  let journal: Journal;
  let records: JournalRecord[];
  const runners: ConsumerRunner[] = [];
  const registries: Registry[] = [];

  const startProjector = async () => {
    const metrics = freshRegistry();
    registries.push(metrics);
    const runner = createConsumerRunner({
      kafka: k,
      pool: db.pool,
      groupId,
      topics: [topic],
      serde,
      handler: createInventoryProjector({ journal, serde, pool: db.pool, logger: testLogger, groupId, gapAttempts: 2, gapDelayMs: 50 }),
      logger: testLogger,
      metrics,
      maxBatchSize: 200,
      maintainIntervalMs: 500,
    });
    await runner.start();
    runners.push(runner);
    return runner;
  };

  beforeAll(async () => {
    f = await consumerFixture('projector');
    ({ kafka: k, topic, groupId, admin, producer, db, serde, journal } = f);
    records = await writeHistory(journal, 40, 8);
  });
  afterAll(async () => {
    for (const r of runners) await r.stop().catch(() => undefined);
    await admin?.deleteTopics({ topics: [topic, dlqTopicOf(topic, groupId)] }).catch(() => undefined);
    await f?.close();
  });

  it('folds duplicates, reordering and gaps into the journal state, and dead-letters poison', async () => {
    // Feed the topic the way a misbehaving source would: every 5th event twice,
    // pairs swapped, every 7th event missing (only the journal has it). A missing
    // *last* event cannot be noticed from the topic (no later event reveals the
    // gap): that is the integrity check's job, tested on its own.
    const fed: JournalRecord[] = [];
    records.forEach((r, i) => {
      if (i % 7 === 6 && r.sequenceNr < 8) return;
      fed.push(r);
      if (i % 5 === 0) fed.push(r);
    });
    for (let i = 0; i + 1 < fed.length; i += 4) [fed[i], fed[i + 1]] = [fed[i + 1]!, fed[i]!];
    await produceRecords(producer, serde, topic, fed);
    // Poison: not wire format; an unknown schema id; an event breaking an invariant.
    const badShip = await toMessage(serde, records.find((r) => r.eventType === 'StockShipped')!);
    const invariantBreaker = await serde.encode('StockShipped', 2, {
      metadata: { eventId: 'x', persistenceId: 'inventory-NEVER-CREATED', sequenceNr: 1, occurredAt: Date.now(), correlationId: 'c', causationId: null },
      quantity: 5,
      orderId: 'O-X',
    });
    await producer.send({
      topic,
      messages: [
        { key: 'poison-1', value: Buffer.from('not avro at all') },
        { key: 'poison-2', value: Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0x01]), badShip.value.subarray(5)]) },
        { key: 'inventory-NEVER-CREATED', value: invariantBreaker },
      ],
    });

    await startProjector();
    const expected = foldJournal(records);
    await eventually(async () => {
      const { rows } = await db.pool.query<{ n: number }>(
        'select count(*)::int as n from inventories i where i.last_sequence_nr = $1',
        [8],
      );
      return rows[0]!.n === expected.size ? true : undefined;
    }, 90_000, 500);

    const { rows } = await db.pool.query<{ persistence_id: string; on_hand: number; reserved: number; last_sequence_nr: number }>(
      'select persistence_id, on_hand, reserved, last_sequence_nr from inventories',
    );
    expect(rows).toHaveLength(expected.size);
    for (const r of rows) {
      const s = expected.get(r.persistence_id)!;
      expect({ onHand: r.on_hand, reserved: r.reserved, seq: r.last_sequence_nr }, r.persistence_id).toEqual({ onHand: s.onHand, reserved: s.reserved, seq: s.sequenceNr });
    }
    const movements = await db.pool.query<{ n: number; distinct_n: number }>(
      'select count(*)::int as n, count(distinct (persistence_id, sequence_nr))::int as distinct_n from inventory_movements',
    );
    expect(movements.rows[0]).toEqual({ n: records.length, distinct_n: records.length });

    // Upcasters ran: v1 shipments in cases arrive as units.
    const shipped = await db.pool.query<{ q: number }>("select min(quantity)::int as q from inventory_movements where event_type = 'StockShipped'");
    expect(shipped.rows[0]!.q).toBe(24);

    // Every poison record is in the DLQ with its reason.
    const dlq = k.consumer({ groupId: uniqueName('dlq-reader') });
    await dlq.connect();
    await dlq.subscribe({ topic: dlqTopicOf(topic, groupId), fromBeginning: true });
    const codes = new Map<string, string>();
    await new Promise<void>((resolve) => {
      void dlq.run({
        eachMessage: async ({ message }) => {
          codes.set(message.key?.toString() ?? '', message.headers?.dlq_error_code?.toString() ?? '');
          if (codes.size >= 3) resolve();
        },
      });
    });
    await dlq.disconnect();
    expect(codes.get('poison-1')).toBe('CORRUPT_PAYLOAD');
    expect(codes.get('poison-2')).toBe('UNKNOWN_SCHEMA_ID');
    expect(codes.get('inventory-NEVER-CREATED')).toBe('INVARIANT_NOT_CREATED');

    // Offsets live in PostgreSQL and were mirrored to Kafka.
    const stored = await db.pool.query<{ n: number }>('select sum(next_offset)::int as n from consumer_offsets where group_id = $1', [groupId]);
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const kafkaSum = committed[0]!.partitions.reduce((s, p) => s + Number(p.offset), 0);
    expect(stored.rows[0]!.n).toBe(fed.length + 3);
    expect(kafkaSum).toBe(stored.rows[0]!.n);

    // The journal → view latency histogram has one observation per event applied from the topic, not one per batch.
    const metrics = await registries[0]!.getMetricsAsJSON();
    const value = (name: string, labels: Record<string, string>) =>
      metrics.find((m) => m.name === name)?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
    const applied = value('consumer_events_total', { group: groupId, outcome: 'applied' });
    expect(applied).toBeGreaterThan(0);
    const latency = metrics.find((m) => m.name === 'pipeline_e2e_latency_seconds')?.values;
    const observed = latency?.find((v) => (v as { metricName?: string }).metricName === 'pipeline_e2e_latency_seconds_count' && v.labels.view === 'inventories');
    expect(observed?.value).toBe(applied);
  });

  it('replaying the whole topic again changes nothing (apply twice)', async () => {
    await produceRecords(producer, serde, topic, records);
    const before = await db.pool.query('select persistence_id, on_hand, reserved, last_sequence_nr from inventories order by 1');
    await eventually(async () => {
      const offs = await admin.fetchTopicOffsets(topic);
      const end = offs.reduce((s, p) => s + Number(p.high), 0);
      const { rows } = await db.pool.query<{ n: number }>('select sum(next_offset)::int as n from consumer_offsets where group_id = $1', [groupId]);
      return rows[0]!.n === end ? true : undefined;
    }, 60_000, 500);
    const after = await db.pool.query('select persistence_id, on_hand, reserved, last_sequence_nr from inventories order by 1');
    expect(after.rows).toEqual(before.rows);
    const movements = await db.pool.query<{ n: number }>('select count(*)::int as n from inventory_movements');
    expect(movements.rows[0]!.n).toBe(records.length);
  });
});
