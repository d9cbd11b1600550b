import type { Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Journal, JournalRecord } from '../../src/command/journal.js';
import { createInventoryProjector } from '../../src/consumers/projectors/inventory-projector.js';
import { createConsumerRunner, type ConsumerRunner } from '../../src/consumers/runner.js';
import type { InventoryEvent } from '../../src/events/generated/inventory.js';
import type { EventSerde } from '../../src/events/serde.js';
import { migrate } from '../../src/views/migrate.js';
import { expectReadModelEqualsJournal } from '../helpers/assertions.js';
import { journalFor, produceRecords, serdeFor, writeHistory } from '../helpers/pipeline.js';
import { createTestDatabase, eventually, kafka, testLogger, uniqueName, type TestDatabase } from '../helpers/stack.js';

describe('two projector instances rebalancing under load (real servers)', () => {
  const k = kafka('rebalance-test');
  const topic = uniqueName('rebalance.events');
  const table = uniqueName('journal');
  const groupId = uniqueName('inventory-projector');
  let producer: Producer;
  let db: TestDatabase;
  let serde: EventSerde<InventoryEvent>;
  let journal: Journal;
  let records: JournalRecord[];
  const runners: ConsumerRunner[] = [];

  beforeAll(async () => {
    const admin = k.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });
    await admin.disconnect();
    producer = k.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    db = await createTestDatabase('rebal');
    await migrate(db.pool, 'migrations');
    serde = await serdeFor(topic);
    journal = await journalFor(table);
    records = await writeHistory(journal, 40, 8, 'B');
  });
  afterAll(async () => {
    for (const r of runners) await r.stop().catch(() => undefined);
    await producer?.disconnect();
    await db?.drop();
  });

  const instance = async () => {
    const r = createConsumerRunner({
      kafka: k,
      pool: db.pool,
      groupId,
      topics: [topic],
      serde,
      handler: createInventoryProjector({ journal, serde, pool: db.pool, logger: testLogger, groupId }),
      logger: testLogger,
      metrics: new Registry(),
      maxBatchSize: 20,
    });
    await r.start();
    runners.push(r);
    return r;
  };

  it('a second instance joins and the first leaves while events flow: read model = fold, each movement once', async () => {
    const a = await instance();
    const third = Math.ceil(records.length / 3);
    await produceRecords(producer, serde, topic, records.slice(0, third));
    await instance(); // rebalance: partitions split between a and b
    await produceRecords(producer, serde, topic, records.slice(third, 2 * third));
    await a.stop(); // rebalance: b takes everything, possibly mid-batch for a
    await produceRecords(producer, serde, topic, records.slice(2 * third));
    await eventually(async () => {
      const { rows } = await db.pool.query<{ n: number }>('select coalesce(sum(next_offset), 0)::int as n from consumer_offsets where group_id = $1', [groupId]);
      return rows[0]!.n === records.length ? true : undefined;
    }, 120_000, 500);
    const rows = await expectReadModelEqualsJournal(db.pool, topic, records);
    expect(rows).toHaveLength(40);
  });
});
