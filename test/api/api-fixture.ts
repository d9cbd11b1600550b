import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { generateMasterData, loadMasterData, type MasterData } from '../../src/command/master-data.js';
import { createApp, type AppDeps } from '../../src/api/app.js';
import { createPool, type Pool } from '../../src/db/db.js';
import { ensureReaderRole, migrate } from '../../src/db/migrate.js';
import { createTestDatabase, testLogger, type TestDatabase } from '../helpers/stack.js';
import { NOW } from './lag-fixture.js';

export { NOW, lagSnapshot } from './lag-fixture.js';
export const at = (msBeforeNow: number) => new Date(NOW - msBeforeNow);

export const THRESHOLDS = { upToDateMs: 1000, slightlyStaleMs: 5000 };

export interface ApiFixture {
  db: TestDatabase;
  /** Pool of a fresh read-only role (what the API gets in production). */
  reader: Pool;
  readerRole: string;
  master: MasterData;
  /** createApp over the reader pool with test defaults; override any dependency. */
  app(overrides?: Partial<AppDeps>): ReturnType<typeof createApp>;
  close(): Promise<void>;
}

/**
 * A migrated test database with master data, a unique read-only role, and
 * read-model rows inserted directly with SQL (the pipeline end-to-end test is
 * elsewhere): 60 inventories, 120 movements of INV-000001, every aggregated
 * view, alerts, and view_freshness rows 300 ms behind NOW (the app runs
 * with a 1 s canary, as in production, whose newest heartbeat is 300 ms overdue).
 */
export async function createApiFixture(prefix = 'api'): Promise<ApiFixture> {
  const db = await createTestDatabase(prefix);
  await migrate(db.pool, 'migrations');
  const master = generateMasterData({ products: 400, customers: 20 });
  await loadMasterData(db.pool, master);
  await seedViews(db.pool, master);
  const readerRole = `api_reader_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  await ensureReaderRole(db.pool, readerRole, password);
  const url = new URL(db.url);
  url.username = readerRole;
  url.password = password;
  const reader = createPool(url.toString(), { max: 10, applicationName: 'api-test' });
  // An idle connection terminated by the server must not crash the test process; the pool drops it.
  reader.on('error', () => undefined);
  return {
    db,
    reader,
    readerRole,
    master,
    app: (overrides = {}) =>
      createApp({
        pool: reader,
        logger: testLogger,
        metrics: new Registry(),
        readiness: { checks: [] },
        staleness: THRESHOLDS,
        canaryIntervalMs: 1000,
        clock: () => NOW,
        ...overrides,
      }),
    async close() {
      await reader.end();
      await db.pool.query(`drop owned by ${readerRole}`);
      await db.drop();
      const admin = createPool(db.url.replace(/\/[^/]+$/, '/postgres'), { max: 1 });
      try {
        await admin.query(`drop role if exists ${readerRole}`);
      } finally {
        await admin.end();
      }
    },
  };
}

export const INVENTORY_COUNT = 60;
export const MOVEMENT_COUNT = 120;
export const invId = (i: number) => `INV-${String(i).padStart(6, '0')}`;

async function seedViews(pool: Pool, master: MasterData): Promise<void> {
  const zoneOf = (warehouseId: string, condition: string) => master.zones.find((z) => z.warehouseId === warehouseId && z.zoneType === condition)!;
  const values: unknown[][] = [];
  for (let i = 1; i <= INVENTORY_COUNT; i++) {
    const product = master.products[i - 1]!;
    const warehouse = master.warehouses[i % 3]!;
    const zone = zoneOf(warehouse.warehouseId, product.storageCondition);
    // Every 4th inventory is below its zone's threshold.
    const onHand = i % 4 === 0 ? 3 : 100 + i;
    const reserved = i % 4 === 0 ? 1 : 10;
    values.push([
      `inventory-${invId(i)}`, invId(i), product.productId, warehouse.warehouseId, zone.zoneId,
      product.storageCondition, zone.zoneType, onHand, reserved, i,
      at(60_000 + i), at(60_000 + i), at(59_700 + i),
    ]);
  }
  for (const v of values) {
    await pool.query(
      `insert into inventories (persistence_id, inventory_id, product_id, warehouse_id, zone_id, product_storage_condition,
         zone_type, on_hand, reserved, last_sequence_nr, last_event_at, last_source_written_at, updated_at)
       values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`,
      v,
    );
  }
  const first = values[0]!;
  await pool.query(
    `insert into inventory_movements (persistence_id, sequence_nr, event_id, event_type, movement_type, quantity,
       on_hand_before, on_hand_after, reserved_before, reserved_after, warehouse_id, zone_id, event_time, correlation_id, detail)
     select $1, n, 'ev-' || n, 'StockReceived', 'RECEIPT', 1, n - 1, n, 0, 0, $2, $3,
            $4::timestamptz + n * interval '1 minute', 'corr-' || n, jsonb_build_object('n', n)
       from generate_series(1, ${MOVEMENT_COUNT}) n`,
    [first[0], first[3], first[4], '2026-01-01T00:00:00Z'],
  );
  await pool.query(
    `insert into stock_by_warehouse_zone (warehouse_id, zone_id, on_hand, reserved, inventory_count, updated_at)
     select warehouse_id, zone_id, sum(on_hand), sum(reserved), count(*), $1 from inventories group by 1, 2`,
    [at(300)],
  );
  await pool.query(
    `insert into stock_by_category_condition (category, storage_condition, on_hand, reserved, inventory_count, updated_at)
     select p.category, p.storage_condition, sum(on_hand), sum(reserved), count(*), $1
       from inventories i join products p using (product_id) group by 1, 2`,
    [at(300)],
  );
  await pool.query(
    `insert into low_stock_alerts (persistence_id, inventory_id, product_id, warehouse_id, zone_id, threshold,
       available_at_open, opened_at, closed_at, available_at_close)
     select i.persistence_id, i.inventory_id, i.product_id, i.warehouse_id, i.zone_id, z.low_stock_threshold,
            i.available, $1::timestamptz + i.last_sequence_nr * interval '1 second', null, null
       from inventories i join warehouse_zones z using (zone_id)
      where i.available < z.low_stock_threshold order by i.persistence_id`,
    [at(3_600_000)],
  );
  await pool.query(
    `insert into low_stock_alerts (persistence_id, inventory_id, product_id, warehouse_id, zone_id, threshold,
       available_at_open, opened_at, closed_at, available_at_close)
     select persistence_id, inventory_id, product_id, warehouse_id, zone_id, 20, 5, $1, $2, 50
       from inventories where last_sequence_nr <= 5`,
    [at(7_200_000), at(7_000_000)],
  );
  await pool.query(
    `insert into daily_movements (day, warehouse_id, zone_id, movement_type, event_count, quantity, late_count, updated_at)
     select d::date, z.warehouse_id, z.zone_id, t, 10, 100, 0, $1
       from generate_series('2026-01-01'::date, '2026-01-14'::date, interval '1 day') d,
            (select * from warehouse_zones where zone_type = 'AMBIENT') z,
            unnest(array['RECEIPT', 'SHIPMENT', 'RESERVATION']) t`,
    [at(300)],
  );
  await pool.query(
    `insert into view_freshness (view_name, group_id, last_source_time, last_event_time, last_commit_time, last_canary_time)
     select v, g, $1, $1, $2, $3
       from (values ('inventories', 'inventory-projector'), ('inventory_movements', 'inventory-projector'),
                    ('stock_by_warehouse_zone', 'inventory-views'), ('stock_by_category_condition', 'inventory-views'),
                    ('low_stock_alerts', 'inventory-views'), ('daily_movements', 'inventory-views')) x(v, g)`,
    // The newest canary heartbeat 1.3 s old with a 1 s interval: 300 ms overdue, the answers' lagSeconds.
    [at(600), at(300), at(1300)],
  );
}
