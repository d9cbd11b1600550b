/**
 * Benchmark of the inventory-views aggregator (issue 7):
 * 1. events/s of the aggregator's incremental deltas versus recomputing the
 *    same views with SQL GROUP BY over the projector's read model after each
 *    batch (the read model is kept by the projector in both cases and not
 *    timed); median of 5 rounds;
 * 2. the aggregator's cost per event at N and 10N inventories (must stay flat).
 *
 * Handlers are driven directly inside PostgreSQL transactions, as the runner
 * would, without Kafka in the loop: this measures the view maintenance
 * itself. Real PostgreSQL and registry; a throwaway database.
 *
 *   npx tsx bench/aggregator.ts [--n 1000] [--batch 500] [--batches 8] [--history 4]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { Registry } from 'prom-client';
import { generateMasterData, loadMasterData } from '../src/command/master-data.js';
import { createJournal } from '../src/command/journal.js';
import { loadConfig } from '../src/config/config.js';
import { createInventoryViewsAggregator } from '../src/consumers/aggregators/inventory-views-aggregator.js';
import { createShadowViewTables } from '../src/consumers/aggregators/view-tables.js';
import type { ConsumedEvent, ConsumerHandler } from '../src/consumers/handler.js';
import { createInventoryProjector } from '../src/consumers/projectors/inventory-projector.js';
import { defaultSchemasDir, loadCatalog } from '../src/events/catalog.js';
import type { InventoryEvent } from '../src/events/generated/inventory.js';
import { createSchemaStore } from '../src/events/schema-store.js';
import { syncSchemas } from '../src/events/schema-sync.js';
import { createEventSerde } from '../src/events/serde.js';
import { inventoryUpcasters } from '../src/events/upcasters/index.js';
import { silentLogger } from '../src/shared/logger.js';
import { createDynamo } from '../src/source/dynamodb.js';
import { withTransaction, type Pool } from '../src/db/db.js';
import { migrate } from '../src/db/migrate.js';
import { planWorkload, workloadEvents } from '../test/helpers/inventory-workload.js';
import { createTestDatabase } from '../test/helpers/stack.js';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '500' },
    batches: { type: 'string', default: '8' },
    /** Operations per inventory before measuring: the read model's history, which a GROUP BY re-reads every batch. */
    history: { type: 'string', default: '4' },
  },
});
const HISTORY = Number(args.history);
const N = Number(args.n);
const BATCH = Number(args.batch);
const BATCHES = Number(args.batches);
const ROUNDS = 5;
const config = loadConfig();
const logger = silentLogger();
const catalog = loadCatalog(defaultSchemasDir('inventory'));
const master = generateMasterData();

/** A throwaway database with the migrations and master data. */
async function openDatabase(): Promise<{ pool: Pool; close: () => Promise<void> }> {
  const db = await createTestDatabase('bench_agg', { max: 4 });
  await migrate(db.pool, 'migrations');
  await loadMasterData(db.pool, master);
  return { pool: db.pool, close: () => db.drop() };
}

const consumed = (events: InventoryEvent[], from: number): ConsumedEvent<InventoryEvent>[] =>
  events.map((event, i) => ({
    topic: 'bench', partition: 0, offset: from + i, key: event.data.metadata.persistenceId, event, eventType: event.type,
    writerVersion: undefined, sourceWrittenAt: Date.now(), timestamp: Date.now(), headers: {}, raw: null,
  }));

async function timed(pool: Pool, fn: (tx: pg.PoolClient) => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await withTransaction(pool, fn);
  return performance.now() - t;
}

/** The same views, recomputed from the projector's read model (what the aggregator avoids). */
async function recompute(tx: pg.PoolClient, t: { stockByZone: string; stockByCategory: string; daily: string }) {
  await tx.query(`truncate ${t.stockByZone}, ${t.stockByCategory}, ${t.daily}`);
  await tx.query(`insert into ${t.stockByZone} (warehouse_id, zone_id, on_hand, reserved, inventory_count)
    select warehouse_id, zone_id, sum(on_hand), sum(reserved), count(*) from inventories group by 1, 2`);
  await tx.query(`insert into ${t.stockByCategory} (category, storage_condition, on_hand, reserved, inventory_count)
    select p.category, p.storage_condition, sum(i.on_hand), sum(i.reserved), count(*) from inventories i join products p using (product_id) group by 1, 2`);
  await tx.query(`insert into ${t.daily} (day, warehouse_id, zone_id, movement_type, event_count, quantity)
    select (event_time at time zone 'UTC')::date, warehouse_id, zone_id, movement_type, count(*), sum(quantity) from inventory_movements group by 1, 2, 3, 4`);
  await tx.query(`select i.persistence_id from inventories i join warehouse_zones z using (zone_id) where i.available < z.low_stock_threshold`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Round {
  aggMs: number;
  recomputeMs: number;
}

/** A database with `inventories` inventories and their history, ready to measure rounds of batches. */
async function prepare(inventories: number) {
  const store = createSchemaStore({ url: config.schemaRegistryUrl, username: config.schemaRegistryUsername, password: config.schemaRegistryPassword });
  await syncSchemas(store, catalog, 'bench.inventory.events');
  const serde = createEventSerde<InventoryEvent>({ topic: 'bench.inventory.events', catalog, store, upcasters: inventoryUpcasters });
  // Never called without gaps; a real client all the same.
  const journal = createJournal({ ddb: createDynamo({ endpoint: config.dynamodbEndpoint, region: config.awsRegion, accessKeyId: config.awsAccessKeyId, secretAccessKey: config.awsSecretAccessKey }), table: 'bench-unused', catalog });
  const measured = ROUNDS * BATCHES * BATCH;
  // Warm history: creations plus HISTORY operations per inventory, then the measured operations.
  const events = workloadEvents(planWorkload({ master, inventories, operations: inventories * HISTORY + measured * 1.2, seed: 5 }));
  const warm = events.length - measured;
  if (warm < inventories) throw new Error('workload too small');
  const { pool, close } = await openDatabase();
  const projector = createInventoryProjector({ journal, serde, pool, logger });
  const aggregator = createInventoryViewsAggregator({ journal, serde, pool, logger, metrics: new Registry() });
  const recomputeTables = await createShadowViewTables(pool, 'recompute');
  const apply = (h: ConsumerHandler<InventoryEvent>, evs: InventoryEvent[], from: number) => timed(pool, (tx) => h.applyBatch(consumed(evs, from), tx));
  for (let i = 0; i < warm; i += 2000) {
    const chunk = events.slice(i, Math.min(i + 2000, warm));
    await apply(projector, chunk, i);
    await apply(aggregator, chunk, i);
  }
  await pool.query('vacuum analyze');
  let pos = warm;
  return {
    inventories,
    close,
    async round(): Promise<Round> {
      let aggMs = 0;
      let recomputeMs = 0;
      for (let b = 0; b < BATCHES; b++, pos += BATCH) {
        const batch = events.slice(pos, pos + BATCH);
        await apply(projector, batch, pos);
        recomputeMs += await timed(pool, (tx) => recompute(tx, recomputeTables));
        aggMs += await apply(aggregator, batch, pos);
      }
      return { aggMs, recomputeMs };
    },
    async summary(rounds: Round[]) {
      const perRound = BATCHES * BATCH;
      const aggMs = median(rounds.map((r) => r.aggMs));
      const recomputeMs = median(rounds.map((r) => r.recomputeMs));
      const movements = (await pool.query<{ n: number }>('select count(*)::int as n from inventory_movements')).rows[0]!.n;
      return {
        inventories,
        movementsInReadModel: movements,
        aggregatorEventsPerS: Math.round((perRound / aggMs) * 1000),
        recomputeEventsPerS: Math.round((perRound / recomputeMs) * 1000),
        ratio: Number((recomputeMs / aggMs).toFixed(1)),
        aggregatorUsPerEvent: Number(((aggMs * 1000) / perRound).toFixed(1)),
        recomputeMsPerBatch: Number((recomputeMs / BATCHES).toFixed(1)),
        rounds: rounds.map((r) => ({ aggMs: Math.round(r.aggMs), recomputeMs: Math.round(r.recomputeMs) })),
      };
    },
  };
}

// Rounds of the two sizes alternate, so a busy moment of the machine hits both alike.
const scenarios = [await prepare(N), await prepare(N * 10)];
const rounds: Round[][] = scenarios.map(() => []);
for (let r = 0; r < ROUNDS; r++) for (const [i, s] of scenarios.entries()) rounds[i]!.push(await s.round());
const [small, large] = await Promise.all(scenarios.map((s, i) => s.summary(rounds[i]!)));
for (const s of scenarios) await s.close();
if (!small || !large) throw new Error('unreachable');
const report = {
  historyPerInventory: HISTORY,
  batchSize: BATCH,
  batchesPerRound: BATCHES,
  rounds: ROUNDS,
  results: [small, large],
  ratioVsRecompute: small.ratio,
  ratioVsRecomputeAt10x: large.ratio,
  costPerEvent10xOverN: Number((large.aggregatorUsPerEvent / small.aggregatorUsPerEvent).toFixed(2)),
};
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/aggregator.json', `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));
console.log(
  [
    `aggregator vs GROUP BY recompute per batch of ${BATCH} (median of ${ROUNDS} rounds of ${BATCHES} batches):`,
    ...[small, large].map(
      (s) => `  ${s.inventories} inventories (${s.movementsInReadModel} movements): aggregator ${s.aggregatorEventsPerS} ev/s (${s.aggregatorUsPerEvent} µs/event), recompute ${s.recomputeEventsPerS} ev/s (${s.recomputeMsPerBatch} ms/batch), aggregator ${s.ratio}× faster`,
    ),
    `  cost per event 10N / N: ${(large.aggregatorUsPerEvent / small.aggregatorUsPerEvent).toFixed(2)}`,
  ].join('\n'),
);
