import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../src/command/journal.js';
import { createInventoryProjector } from '../../src/consumers/projectors/inventory-projector.js';
import { createConsumerRunner, type ConsumerRunner } from '../../src/consumers/runner.js';
import { expectReadModelEqualsJournal } from '../helpers/assertions.js';
import { consumerFixture, produceRecords, writeHistory } from '../helpers/pipeline.js';
import { eventually, testLogger } from '../helpers/stack.js';

describe('two projector instances rebalancing under load (real servers)', () => {
  let f: Awaited<ReturnType<typeof consumerFixture>>;
  let records: JournalRecord[];
  const runners: ConsumerRunner[] = [];

  beforeAll(async () => {
    f = await consumerFixture('rebalance', 4);
    records = await writeHistory(f.journal, 40, 8, 'B');
  });
  afterAll(async () => {
    for (const r of runners) await r.stop().catch(() => undefined);
    await f?.close();
  });

  const instance = async () => {
    const r = createConsumerRunner({
      kafka: f.kafka,
      pool: f.db.pool,
      groupId: f.groupId,
      topics: [f.topic],
      serde: f.serde,
      handler: createInventoryProjector({ journal: f.journal, serde: f.serde, pool: f.db.pool, logger: testLogger, groupId: f.groupId }),
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
    await produceRecords(f.producer, f.serde, f.topic, records.slice(0, third));
    await instance(); // rebalance: partitions split between a and b
    await produceRecords(f.producer, f.serde, f.topic, records.slice(third, 2 * third));
    await a.stop(); // rebalance: b takes everything, possibly mid-batch for a
    await produceRecords(f.producer, f.serde, f.topic, records.slice(2 * third));
    await eventually(async () => {
      const { rows } = await f.db.pool.query<{ n: number }>('select coalesce(sum(next_offset), 0)::int as n from consumer_offsets where group_id = $1', [f.groupId]);
      return rows[0]!.n === records.length ? true : undefined;
    }, 120_000, 500);
    const rows = await expectReadModelEqualsJournal(f.db.pool, records);
    expect(rows).toHaveLength(40);
  });
});
