/**
 * Benchmark of the inventory projector (issue 6), side by side on the same
 * events in one run, median of N rounds:
 *   (p) the projector's batch path: sequence gate + pure plan + COPY + set-based upsert,
 *       one transaction per batch, exactly as the runner calls it;
 *   (a) a naive apply in the seed's style: per event an existence check, an
 *       update (or insert) and a history insert, one round trip each;
 *   (b) a raw COPY of the rows the projector produced, into the same tables.
 * Targets: p ≥ 20× a, p ≥ 30% of b. Kafka is not in the loop: this measures
 * the PostgreSQL side, which is where the projector spends its time.
 *
 *   node --import tsx bench/projector.ts [--inventories 2000] [--operations 20000] [--batch 5000] [--rounds 3]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { generateMasterData } from '../src/command/master-data.js';
import { createJournal } from '../src/command/journal.js';
import { loadConfig } from '../src/config/config.js';
import type { ConsumedEvent } from '../src/consumers/handler.js';
import { createInventoryProjector } from '../src/consumers/projectors/inventory-projector.js';
import { movementOf, stockDelta } from '../src/command/inventory.js';
import { defaultSchemasDir, loadCatalog } from '../src/events/catalog.js';
import type { InventoryEvent } from '../src/events/generated/inventory.js';
import { createEventSerde } from '../src/events/serde.js';
import { createSchemaStore } from '../src/events/schema-store.js';
import { inventoryUpcasters } from '../src/events/upcasters/index.js';
import { silentLogger } from '../src/shared/logger.js';
import { createDynamo } from '../src/source/dynamodb.js';
import { copyLines } from '../src/db/copy.js';
import { withTransaction, type Pool } from '../src/db/db.js';
import { migrate } from '../src/db/migrate.js';
import { planWorkload, workloadEvents } from '../test/helpers/inventory-workload.js';
import { createTestDatabase } from '../test/helpers/stack.js';

const { values } = parseArgs({
  options: {
    inventories: { type: 'string', default: '2000' },
    operations: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '3' },
    out: { type: 'string', default: 'bench/results/projector.json' },
  },
});
const inventories = Number(values.inventories);
const operations = Number(values.operations);
const batchSize = Number(values.batch);
const rounds = Number(values.rounds);

const config = loadConfig();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function withDatabase<T>(fn: (pool: Pool) => Promise<T>): Promise<T> {
  const db = await createTestDatabase('bench', { max: 4 });
  try {
    await migrate(db.pool, 'migrations');
    return await fn(db.pool);
  } finally {
    await db.drop();
  }
}

const reset = (pool: Pool) => pool.query('truncate inventories, inventory_movements, parked_events');

function consumed(events: InventoryEvent[]): ConsumedEvent<InventoryEvent>[] {
  return events.map((event, i) => ({
    topic: 'bench',
    partition: 0,
    offset: i,
    key: event.data.metadata.persistenceId,
    event,
    eventType: event.type,
    writerVersion: undefined,
    sourceWrittenAt: event.data.metadata.occurredAt,
    timestamp: event.data.metadata.occurredAt,
    headers: {},
    raw: null,
  }));
}

async function runProjector(pool: Pool, events: ConsumedEvent<InventoryEvent>[]) {
  const catalog = loadCatalog(defaultSchemasDir('inventory'));
  // The journal is only read for gaps; a gapless stream never touches it.
  const journal = createJournal({ ddb: createDynamo({ endpoint: config.dynamodbEndpoint, region: config.awsRegion, accessKeyId: 'x', secretAccessKey: 'x' }), table: 'unused', catalog });
  const serde = createEventSerde<InventoryEvent>({ topic: 'bench', catalog, store: createSchemaStore({ url: config.schemaRegistryUrl, username: '', password: '' }), upcasters: inventoryUpcasters });
  const projector = createInventoryProjector({ journal, serde, pool, logger: silentLogger() });
  const t0 = performance.now();
  for (let i = 0; i < events.length; i += batchSize) {
    await withTransaction(pool, (tx) => projector.applyBatch(events.slice(i, i + batchSize), tx));
  }
  return performance.now() - t0;
}

/**
 * The seed's style (seed 000 §9.3: each DAO call is its own `db.run`): an
 * existence check, an update or insert and a history insert per event, a
 * round trip each, autocommitted. `batched` wraps each batch in one
 * transaction instead — the same round trips without a commit per statement,
 * reported as a second, stricter baseline.
 */
async function runNaive(pool: Pool, events: InventoryEvent[], batched: boolean) {
  const t0 = performance.now();
  const inTx = async (fn: (tx: pg.PoolClient) => Promise<void>) => {
    if (batched) return withTransaction(pool, fn);
    const c = await pool.connect();
    try {
      await fn(c);
    } finally {
      c.release();
    }
  };
  for (let i = 0; i < events.length; i += batchSize) {
    await inTx(async (tx) => {
      for (const e of events.slice(i, i + batchSize)) {
        const md = e.data.metadata;
        const { rows } = await tx.query<{ on_hand: number; reserved: number; warehouse_id: string; zone_id: string; last_sequence_nr: number }>(
          'select on_hand, reserved, warehouse_id, zone_id, last_sequence_nr from inventories where persistence_id = $1',
          [md.persistenceId],
        );
        let row = rows[0];
        if (e.type === 'InventoryCreated') {
          if (row) continue;
          await tx.query(
            `insert into inventories (persistence_id, inventory_id, product_id, warehouse_id, zone_id, product_storage_condition, zone_type,
               on_hand, reserved, last_sequence_nr, last_event_at) values ($1,$2,$3,$4,$5,$6,$7,0,0,$8,to_timestamp($9/1000.0))`,
            [md.persistenceId, e.data.inventoryId, e.data.productId, e.data.warehouseId, e.data.zoneId, e.data.productStorageCondition, e.data.zoneType, md.sequenceNr, md.occurredAt],
          );
          row = { on_hand: 0, reserved: 0, warehouse_id: e.data.warehouseId, zone_id: e.data.zoneId, last_sequence_nr: md.sequenceNr };
        } else {
          if (!row || md.sequenceNr <= row.last_sequence_nr) continue;
          const d = stockDelta(e);
          await tx.query(
            'update inventories set on_hand = on_hand + $2, reserved = reserved + $3, last_sequence_nr = $4, last_event_at = to_timestamp($5/1000.0), updated_at = now() where persistence_id = $1',
            [md.persistenceId, d.onHand, d.reserved, md.sequenceNr, md.occurredAt],
          );
        }
        const d = stockDelta(e);
        const { movementType: movement, quantity } = movementOf(e);
        await tx.query(
          `insert into inventory_movements (persistence_id, sequence_nr, event_id, event_type, movement_type, quantity, on_hand_before, on_hand_after,
             reserved_before, reserved_after, warehouse_id, zone_id, event_time, correlation_id) values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,to_timestamp($13/1000.0),$14)`,
          [md.persistenceId, md.sequenceNr, md.eventId, e.type, movement, quantity, row.on_hand, row.on_hand + d.onHand, row.reserved, row.reserved + d.reserved, row.warehouse_id, row.zone_id, md.occurredAt, md.correlationId],
        );
      }
    });
  }
  return performance.now() - t0;
}

/** COPY of exactly the rows the projector wrote, into the same (emptied) tables. */
async function runRawCopy(pool: Pool) {
  const client = await pool.connect();
  try {
    const dump = async (sql: string) => {
      const { rows } = await client.query<{ line: string }>(sql);
      return rows.map((r) => `${r.line}\n`);
    };
    const movementCols = 'persistence_id, sequence_nr, event_id, event_type, movement_type, quantity, on_hand_before, on_hand_after, reserved_before, reserved_after, warehouse_id, zone_id, event_time, correlation_id, causation_id, detail';
    const inventoryCols = 'persistence_id, inventory_id, product_id, warehouse_id, zone_id, product_storage_condition, zone_type, on_hand, reserved, violations, last_sequence_nr, last_event_at, last_source_written_at';
    // Text COPY lines of the projector's result, produced by PostgreSQL itself.
    const m = await dump(`select concat_ws(E'\\t', ${movementCols.split(', ').map((c) => `coalesce(${c}::text, '\\N')`).join(', ')}) as line from inventory_movements`);
    const inv = await dump(`select concat_ws(E'\\t', ${inventoryCols.split(', ').map((c) => `coalesce(${c}::text, '\\N')`).join(', ')}) as line from inventories`);
    await client.query('truncate inventories, inventory_movements');
    const t0 = performance.now();
    await client.query('BEGIN');
    // Pre-formatted lines in large chunks: the fastest way in, so the ratio is honest.
    await copyLines(client, `copy inventory_movements (${movementCols}) from stdin`, m);
    await copyLines(client, `copy inventories (${inventoryCols}) from stdin`, inv);
    await client.query('COMMIT');
    return performance.now() - t0;
  } finally {
    client.release();
  }
}

async function main() {
  const master = generateMasterData();
  const events = workloadEvents(planWorkload({ master, inventories, operations, seed: 11, prefix: 'B' }));
  const input = consumed(events);
  console.log(`projector bench: ${events.length} events over ${inventories} inventories, batch ${batchSize}, ${rounds} rounds`);
  const results = await withDatabase(async (pool) => {
    const p: number[] = [];
    const a: number[] = [];
    const a2: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < rounds; r++) {
      await reset(pool);
      p.push(await runProjector(pool, input));
      b.push(await runRawCopy(pool));
      await reset(pool);
      a.push(await runNaive(pool, events, false));
      await reset(pool);
      a2.push(await runNaive(pool, events, true));
      console.log(
        `round ${r + 1}: projector ${p.at(-1)!.toFixed(0)} ms, naive ${a.at(-1)!.toFixed(0)} ms, naive in batch transactions ${a2.at(-1)!.toFixed(0)} ms, raw COPY ${b.at(-1)!.toFixed(0)} ms`,
      );
    }
    return { p: median(p), a: median(a), a2: median(a2), b: median(b) };
  });
  const rate = (ms: number) => (events.length / ms) * 1000;
  const report = {
    events: events.length,
    inventories,
    batchSize,
    rounds,
    projectorEventsPerSecond: Math.round(rate(results.p)),
    naiveEventsPerSecond: Math.round(rate(results.a)),
    naiveBatchedEventsPerSecond: Math.round(rate(results.a2)),
    rawCopyEventsPerSecond: Math.round(rate(results.b)),
    ratioVsNaive: +(results.a / results.p).toFixed(2),
    ratioVsNaiveBatched: +(results.a2 / results.p).toFixed(2),
    ratioVsRawCopy: +(results.b / results.p).toFixed(3),
    targets: { vsNaive: 20, vsRawCopy: 0.3 },
  };
  console.log(
    `projector ${report.projectorEventsPerSecond} ev/s | naive ${report.naiveEventsPerSecond} ev/s | naive in batch tx ${report.naiveBatchedEventsPerSecond} ev/s | raw COPY ${report.rawCopyEventsPerSecond} ev/s\n` +
      `ratio vs naive ${report.ratioVsNaive}× (target ≥ 20×; vs naive in batch tx ${report.ratioVsNaiveBatched}×) | share of raw COPY ${(report.ratioVsRawCopy * 100).toFixed(1)}% (target ≥ 30%)`,
  );
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(values.out!, `${JSON.stringify(report, null, 2)}\n`);
}

await main();
