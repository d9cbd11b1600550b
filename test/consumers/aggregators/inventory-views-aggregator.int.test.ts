import type { Admin, Producer } from 'kafkajs';
import { createTopicsAndWait } from '../../../src/log/topics.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Journal, JournalRecord } from '../../../src/command/journal.js';
import { generateMasterData, loadMasterData } from '../../../src/command/master-data.js';
import { createInventoryViewsAggregator } from '../../../src/consumers/aggregators/inventory-views-aggregator.js';
import { createShadowViewTables, liveViewTables, publishedViews, swapInShadowViewTables } from '../../../src/consumers/aggregators/view-tables.js';
import { dlqTopicOf } from '../../../src/consumers/dead-letter.js';
import { createInventoryProjector } from '../../../src/consumers/projectors/inventory-projector.js';
import { createConsumerRunner, type ConsumerRunner } from '../../../src/consumers/runner.js';
import type { InventoryEvent } from '../../../src/events/generated/inventory.js';
import type { EventSerde } from '../../../src/events/serde.js';
import { migrate } from '../../../src/db/migrate.js';
import { planWorkload, writeWorkload } from '../../helpers/inventory-workload.js';
import { expectReadModelEqualsJournal, expectViewsEqualJournal } from '../../helpers/oracle-checks.js';
import { freshRegistry, journalFor, produceRecords, serdeFor } from '../../helpers/pipeline.js';
import { createTestDatabase, eventually, kafka, testLogger, uniqueName, type TestDatabase } from '../../helpers/stack.js';
import { storedOffsetSum, viewContents, viewsAndReference } from './view-checks.js';

describe('inventory-views aggregator (real Kafka, registry, DynamoDB, PostgreSQL)', () => {
  const k = kafka('views-test');
  const topic = uniqueName('inventory.events');
  const table = uniqueName('journal');
  const projectorGroup = uniqueName('inventory-projector');
  const viewsGroup = uniqueName('inventory-views');
  const master = generateMasterData();
  let admin: Admin;
  let producer: Producer;
  let db: TestDatabase;
  let serde: EventSerde<InventoryEvent>;
  let journal: Journal;
  let records: JournalRecord[];
  const runners = new Set<ConsumerRunner>();
  const topics = [topic];

  const start = async (groupId: string, handler: Parameters<typeof createConsumerRunner<InventoryEvent>>[0]['handler'], on = topic) => {
    const runner = createConsumerRunner({
      kafka: k, pool: db.pool, groupId, topics: [on], serde: on === topic ? serde : await serdeFor(on), handler,
      logger: testLogger, metrics: freshRegistry(), maxBatchSize: 100, maintainIntervalMs: 300,
    });
    await runner.start();
    runners.add(runner);
    return runner;
  };
  const stop = async (r: ConsumerRunner) => {
    await r.stop();
    runners.delete(r);
  };
  const aggregator = (o: Partial<Parameters<typeof createInventoryViewsAggregator>[0]> = {}) =>
    createInventoryViewsAggregator({ journal, serde, pool: db.pool, logger: testLogger, groupId: viewsGroup, gapAttempts: 2, gapDelayMs: 50, ...o });
  const topicEnd = async (t = topic) => (await admin.fetchTopicOffsets(t)).reduce((s, p) => s + Number(p.high), 0);
  const caughtUp = async (groupId: string, t = topic) => {
    const end = await topicEnd(t);
    await eventually(async () => ((await storedOffsetSum(db.pool, groupId)) === end ? true : undefined), 120_000, 300);
  };

  beforeAll(async () => {
    admin = k.admin();
    await admin.connect();
    await createTopicsAndWait(admin, [{ topic, numPartitions: 3 }]);
    producer = k.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    db = await createTestDatabase('views');
    await migrate(db.pool, 'migrations');
    await loadMasterData(db.pool, master);
    serde = await serdeFor(topic);
    journal = await journalFor(table);
    const steps = planWorkload({ master, inventories: 60, operations: 500, seed: 3, startTime: Date.now() - 3 * 86_400_000, spanMs: 3 * 86_400_000 - 60_000 });
    // DynamoDB Local takes up to ~150 ms per item when the machine is busy: hence the modest size and timeout.
    records = await writeWorkload(journal, steps);
  }, 420_000);
  afterAll(async () => {
    for (const r of runners) await r.stop().catch(() => undefined);
    await producer?.disconnect();
    const all = await admin?.listTopics().catch(() => [] as string[]);
    await admin?.deleteTopics({ topics: (all ?? []).filter((t) => topics.some((x) => t.startsWith(x))) }).catch(() => undefined);
    await admin?.disconnect();
    await db?.drop();
  });

  it('equals the GROUP BY over the projector read model, across duplicates, gaps and a stop and restart mid-way', async () => {
    // The topic misbehaves like a source can: some events twice, some missing (only the journal has them;
    // never an id's last one, which no later event would reveal — that is the integrity check's job).
    const lastSeq = new Map<string, number>();
    for (const r of records) lastSeq.set(r.persistenceId, Math.max(lastSeq.get(r.persistenceId) ?? 0, r.sequenceNr));
    const fed = records.flatMap((r, i) => (i % 13 === 5 && r.sequenceNr < lastSeq.get(r.persistenceId)! ? [] : i % 11 === 3 ? [r, r] : [r]));
    const firstHalf = Math.floor(fed.length * 0.6);
    await produceRecords(producer, serde, topic, fed.slice(0, firstHalf));
    await start(projectorGroup, createInventoryProjector({ journal, serde, pool: db.pool, logger: testLogger, groupId: projectorGroup }));
    const first = await start(viewsGroup, aggregator());
    await eventually(async () => ((await storedOffsetSum(db.pool, viewsGroup)) > firstHalf * 0.3 ? true : undefined), 60_000, 100);
    await stop(first);
    await produceRecords(producer, serde, topic, fed.slice(firstHalf));
    await start(viewsGroup, aggregator());
    await caughtUp(projectorGroup);
    await caughtUp(viewsGroup);

    // Against the independent oracle over the journal's raw bytes (no code from src/), then against the read model.
    await expectReadModelEqualsJournal(db.pool, records);
    await expectViewsEqualJournal(db.pool, records, 10_000);
    const v = await viewsAndReference(db.pool);
    expect(v.zoneRef.length).toBe(9);
    expect(v.zone).toEqual(v.zoneRef);
    expect(v.category).toEqual(v.categoryRef);
    expect(v.daily).toEqual(v.dailyRef);
    expect(v.openAlerts.length).toBeGreaterThan(0);
    expect(v.openAlerts).toEqual(v.openAlertsRef);
    const types = await db.pool.query<{ t: string }>('select distinct movement_type as t from daily_movements order by 1');
    expect(types.rows.map((r) => r.t)).toEqual(['ADJUSTMENT', 'CREATED', 'RECEIPT', 'RELEASE', 'RESERVATION', 'SHIPMENT', 'TRANSFER_IN', 'TRANSFER_OUT', 'VIOLATION']);

    const util = await db.pool.query(`select u.zone_id, u.on_hand::int, u.utilisation::float8 as u, (s.on_hand::float8 / z.capacity_units) as expected
      from zone_utilisation u join warehouse_zones z using (zone_id) join stock_by_warehouse_zone s using (zone_id)`);
    expect(util.rows).toHaveLength(9);
    for (const r of util.rows as { u: number; expected: number }[]) expect(r.u).toBeCloseTo(r.expected, 5);
    const parked = await db.pool.query('select * from parked_events where group_id = $1', [viewsGroup]);
    expect(parked.rows).toEqual([]);
    const fresh = await db.pool.query<{ view_name: string }>('select view_name from view_freshness where group_id = $1 order by 1', [viewsGroup]);
    // A freshness row per view of the group's list (and per SQL view over one), never one for its state table.
    expect(fresh.rows.map((r) => r.view_name)).toEqual([...publishedViews(liveViewTables)].sort());
    expect(fresh.rows.map((r) => r.view_name)).toEqual(
      expect.arrayContaining(['daily_movements', 'low_stock_alerts', 'stock_by_category_condition', 'stock_by_warehouse_zone', 'zone_utilisation']),
    );
  });

  it('a rebuild from offset 0 into shadow tables equals the incremental views, and swaps in atomically', async () => {
    const rebuildGroup = uniqueName('inventory-views-rebuild');
    const shadow = await createShadowViewTables(db.pool, 'rebuild');
    const rebuild = await start(rebuildGroup, aggregator({ groupId: rebuildGroup, tables: shadow }));
    await caughtUp(rebuildGroup);
    await stop(rebuild);
    const live = await viewContents(db.pool, liveViewTables);
    expect(live.state.length).toBeGreaterThan(60);
    // Late counts too: the watermark is per partition, so lateness does not depend on how partitions interleaved.
    expect(await viewContents(db.pool, shadow)).toEqual(live);

    for (const r of [...runners]) if (r !== undefined) await stop(r);
    await swapInShadowViewTables(db.pool, { suffix: 'rebuild', liveGroupId: viewsGroup, rebuildGroupId: rebuildGroup });
    expect(await viewContents(db.pool, liveViewTables)).toEqual(live);
    const util = await db.pool.query('select count(*)::int as n from zone_utilisation where on_hand > 0');
    expect(util.rows[0]!.n).toBe(9);
    expect(await storedOffsetSum(db.pool, viewsGroup)).toBe(await topicEnd());

    // The live group carries on from the rebuild's offsets on the swapped-in tables.
    const more = await writeWorkload(journal, planWorkload({ master, inventories: 6, operations: 30, seed: 9, prefix: 'Z', productOffset: 5000 }));
    await produceRecords(producer, serde, topic, more);
    await start(projectorGroup, createInventoryProjector({ journal, serde, pool: db.pool, logger: testLogger, groupId: projectorGroup }));
    await start(viewsGroup, aggregator());
    await caughtUp(projectorGroup);
    await caughtUp(viewsGroup);
    const v = await viewsAndReference(db.pool);
    expect(v.zone).toEqual(v.zoneRef);
    expect(v.category).toEqual(v.categoryRef);
    expect(v.daily).toEqual(v.dailyRef);
    expect(v.openAlerts).toEqual(v.openAlertsRef);
    const alerts = await db.pool.query<{ n: number }>("select count(*)::int as n from low_stock_alerts where persistence_id like 'inventory-Z-%'");
    expect(alerts.rows[0]!.n).toBeGreaterThan(0);
  });

  describe('late events', () => {
    const lateTopic = uniqueName('inventory.late');
    topics.push(lateTopic);
    const D = Date.UTC(2026, 9, 1);
    const H = 3_600_000;

    it('inside the grace period count on time; after it they are counted and corrected or dead-lettered by policy', async () => {
      await createTopicsAndWait(admin, [{ topic: lateTopic, numPartitions: 1 }]);
      const lateSerde = await serdeFor(lateTopic);
      const product = master.products.find((p) => p.storageCondition === 'AMBIENT')!;
      const append = async (id: string, seq: number, at: number, type: string, data: Record<string, unknown>) =>
        journal.append({ persistenceId: `inventory-${id}`, expectedSequenceNr: seq - 1, occurredAt: at, events: [{ type, data }] });
      const create = (id: string) => ({ inventoryId: id, productId: product.productId, warehouseId: 'WH-FUK', zoneId: 'WH-FUK-AMBIENT', productStorageCondition: 'AMBIENT', zoneType: 'AMBIENT' });
      const receipt = (q: number) => ({ quantity: q, lotNumber: 'L', supplierId: null, expiryDate: null });
      const a = uniqueName('L2');
      const b = uniqueName('L1');
      const recs = [
        ...(await append(a, 1, D + 10 * H, 'InventoryCreated', create(a))),
        ...(await append(a, 2, D + 24 * H + H / 2, 'StockReceived', receipt(10))),
        ...(await append(a, 3, D + 23 * H, 'StockReceived', receipt(20))), // watermark D+1 00:30 < close D+1 01:00: on time
        ...(await append(b, 1, D + 10 * H, 'InventoryCreated', create(b))),
        ...(await append(b, 2, D + 29 * H, 'StockReceived', receipt(40))),
        ...(await append(b, 3, D + 12 * H, 'StockReceived', receipt(80))), // watermark D+1 05:00 ≥ close: late
        ...(await append(b, 4, D + 24 * H + H / 2, 'StockReceived', receipt(160))), // window D+1 still open
      ];
      await produceRecords(producer, lateSerde, lateTopic, recs);

      for (const policy of ['correct', 'dead-letter'] as const) {
        const groupId = uniqueName(`views-late-${policy}`);
        const tables = await createShadowViewTables(db.pool, policy === 'correct' ? 'late_c' : 'late_d');
        const metrics = freshRegistry();
        await start(groupId, createInventoryViewsAggregator({ journal, serde: lateSerde, pool: db.pool, logger: testLogger, groupId, tables, lateEvents: policy, metrics }), lateTopic);
        await caughtUp(groupId, lateTopic);
        const day = await db.pool.query(`select day::text, movement_type, event_count::int, quantity::int, late_count::int from ${tables.daily}
          where movement_type = 'RECEIPT' order by 1`);
        expect(day.rows).toEqual([
          policy === 'correct'
            ? { day: '2026-10-01', movement_type: 'RECEIPT', event_count: 2, quantity: 100, late_count: 1 }
            : { day: '2026-10-01', movement_type: 'RECEIPT', event_count: 1, quantity: 20, late_count: 1 },
          { day: '2026-10-02', movement_type: 'RECEIPT', event_count: 3, quantity: 210, late_count: 0 },
        ]);
        // Stock is not windowed: every receipt is in it under both policies.
        const stock = await db.pool.query(`select on_hand::int from ${tables.stockByZone}`);
        expect(stock.rows).toEqual([{ on_hand: 310 }]);
        const metric = await metrics.getSingleMetricAsString('aggregator_late_events_total');
        expect(metric).toContain(`aggregator_late_events_total{group="${groupId}",policy="${policy}"} 1`);
        if (policy === 'dead-letter') {
          const letters = await readDlq(dlqTopicOf(lateTopic, groupId), 1);
          expect(letters).toEqual([{ key: `inventory-${b}`, code: 'LATE_EVENT' }]);
        }
      }
    });
  });

  it('waits for a missing creation: applies once the journal has it, dead-letters after the bound', async () => {
    const waitTopic = uniqueName('inventory.wait');
    topics.push(waitTopic);
    await createTopicsAndWait(admin, [{ topic: waitTopic, numPartitions: 1 }]);
    const waitSerde = await serdeFor(waitTopic);
    const groupId = uniqueName('views-wait');
    const tables = await createShadowViewTables(db.pool, 'wait');
    const md = (pid: string, seq: number) => ({ eventId: `${pid}-${seq}`, persistenceId: pid, sequenceNr: seq, occurredAt: Date.now(), correlationId: 'c', causationId: null });
    const late = uniqueName('inventory-LATECREATE');
    const never = uniqueName('inventory-NEVER');
    const receipt = { quantity: 7, lotNumber: 'L', supplierId: null, expiryDate: null };
    await producer.send({ topic: waitTopic, messages: [
      { key: late, value: await waitSerde.encode('StockReceived', 2, { metadata: md(late, 2), ...receipt }) },
      { key: never, value: await waitSerde.encode('StockReceived', 2, { metadata: md(never, 1), ...receipt }) },
    ] });
    await start(groupId, createInventoryViewsAggregator({
      journal, serde: waitSerde, pool: db.pool, logger: testLogger, groupId, tables, notCreatedWaitMs: 4000, gapAttempts: 1,
      deadLetterQueue: (await import('../../../src/consumers/dead-letter.js')).createDeadLetterQueue(producer),
    }), waitTopic);
    await caughtUp(groupId, waitTopic);
    const parked = await db.pool.query<{ persistence_id: string; reason: string }>('select persistence_id, reason from parked_events where group_id = $1 order by 2', [groupId]);
    expect(parked.rows).toEqual([{ persistence_id: late, reason: 'GAP' }, { persistence_id: never, reason: 'NOT_CREATED' }]);
    // The creation reaches the journal; maintain() repairs the gap and applies both.
    const product = master.products.find((p) => p.storageCondition === 'FROZEN')!;
    await journal.appendAll([{ persistenceId: late, expectedSequenceNr: 0, events: [
      { type: 'InventoryCreated', data: { inventoryId: late, productId: product.productId, warehouseId: 'WH-OSA', zoneId: 'WH-OSA-FROZEN', productStorageCondition: 'FROZEN', zoneType: 'FROZEN' } },
      { type: 'StockReceived', data: receipt },
    ] }]);
    await eventually(async () => {
      const { rows } = await db.pool.query<{ on_hand: number }>(`select on_hand from ${tables.state} where persistence_id = $1`, [late]);
      return rows[0]?.on_hand === 7 ? true : undefined;
    }, 30_000, 200);
    expect((await readDlq(dlqTopicOf(waitTopic, groupId), 1))).toEqual([{ key: never, code: 'INVENTORY_NOT_CREATED' }]);
    await eventually(async () => ((await db.pool.query('select 1 from parked_events where group_id = $1', [groupId])).rowCount === 0 ? true : undefined), 10_000, 200);
    const cat = await db.pool.query(`select category, storage_condition, on_hand::int, inventory_count from ${tables.stockByCategory}`);
    expect(cat.rows).toEqual([{ category: 'FOOD', storage_condition: 'FROZEN', on_hand: 7, inventory_count: 1 }]);
  });

  async function readDlq(dlqTopic: string, n: number) {
    const c = k.consumer({ groupId: uniqueName('dlq-reader') });
    await c.connect();
    await c.subscribe({ topic: dlqTopic, fromBeginning: true });
    const out: { key: string; code: string }[] = [];
    await new Promise<void>((resolve) => {
      void c.run({
        eachMessage: async ({ message }) => {
          out.push({ key: message.key?.toString() ?? '', code: message.headers?.dlq_error_code?.toString() ?? '' });
          if (out.length >= n) resolve();
        },
      });
    });
    await c.disconnect();
    return out;
  }
});
