import { createHash } from 'node:crypto';
import { PipelineError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { copyLines, copyRow, type CopyValue } from '../db/copy.js';
import { withTransaction, type Pool, type PoolClient } from '../db/db.js';
import type { MasterData } from './master-data.js';

/**
 * Loads generated master data into PostgreSQL by COPY, idempotently (a
 * checksum of the data decides whether anything is written). Apart from the
 * generator (master-data.ts) so each file holds one job.
 */
export interface MasterDataCounts { warehouses: number; zones: number; companies: number; customers: number; products: number }
export interface LoadMasterDataResult {
  /** false when the same master data was already loaded and nothing was written. */
  loaded: boolean;
  counts: MasterDataCounts;
  checksum: string;
  durationMs: number;
}

// Parent tables first: COPY checks foreign keys row by row.
function copyPlan(d: MasterData): { table: keyof MasterDataCounts; sql: string; rows: string[] }[] {
  const plan = (table: keyof MasterDataCounts, target: string, rows: CopyValue[][]) => ({ table, sql: `copy ${target} from stdin`, rows: rows.map(copyRow) });
  return [
    plan('warehouses', 'warehouses (warehouse_id, name, location, floor_area_m2, capacity_units)', d.warehouses.map((w) => [w.warehouseId, w.name, w.location, w.floorAreaM2, w.capacityUnits])),
    plan('zones', 'warehouse_zones (zone_id, warehouse_id, name, zone_type, capacity_units, low_stock_threshold)', d.zones.map((z) => [z.zoneId, z.warehouseId, z.name, z.zoneType, z.capacityUnits, z.lowStockThreshold])),
    plan('companies', 'companies (company_id, name, company_type)', d.companies.map((c) => [c.companyId, c.name, c.companyType])),
    plan('customers', 'customers (customer_id, company_id, name, customer_type)', d.customers.map((c) => [c.customerId, c.companyId, c.name, c.customerType])),
    plan('products', 'products (product_id, sku, name, category, storage_condition, description, price_yen)', d.products.map((p) => [p.productId, p.sku, p.name, p.category, p.storageCondition, p.description, p.priceYen])),
  ];
}

const LOAD_LOCK_KEY = 0x6d617374; // 'mast'

/**
 * Loads master data into the tables of migrations/0001 in one transaction,
 * with COPY. Idempotent: when master_data_meta records the same content
 * (sha-256 over every row, which covers generator version, seed and counts)
 * and the tables hold the recorded counts, nothing is written. Otherwise the
 * five master tables are truncated together and reloaded; readers see the old
 * rows or the new ones, never a mix, and a crash leaves the old rows.
 * Concurrent loaders serialize on an advisory lock.
 *
 * Truncation never cascades: once other tables reference master rows by
 * foreign key, a reload with different data fails instead of wiping them.
 */
export async function loadMasterData(pool: Pool, data: MasterData, { logger }: { logger?: Logger } = {}): Promise<LoadMasterDataResult> {
  const started = performance.now();
  const plan = copyPlan(data);
  const hash = createHash('sha256');
  for (const step of plan) hash.update(`${step.sql}\n`).update(step.rows.join(''));
  const checksum = hash.digest('hex');
  const counts: MasterDataCounts = {
    warehouses: data.warehouses.length,
    zones: data.zones.length,
    companies: data.companies.length,
    customers: data.customers.length,
    products: data.products.length,
  };

  const loaded = await withTransaction(pool, async (client) => {
    await client.query('select pg_advisory_xact_lock($1)', [LOAD_LOCK_KEY]);
    if (await alreadyLoaded(client, checksum, counts)) return false;
    await client.query('truncate table customers, companies, products, warehouse_zones, warehouses');
    for (const step of plan) {
      const written = await copyLines(client, step.sql, step.rows);
      if (written !== step.rows.length) {
        throw new PipelineError('MASTER_DATA_COPY', `${step.table}: COPY wrote ${written} rows, expected ${step.rows.length}`);
      }
    }
    const meta: [string, string][] = [
      ['generator_version', String(data.generatorVersion)],
      ['seed', String(data.seed)],
      ['counts', JSON.stringify(counts)],
      ['checksum', checksum],
    ];
    await client.query(
      `insert into master_data_meta (key, value) select * from unnest($1::text[], $2::text[])
       on conflict (key) do update set value = excluded.value, updated_at = now()`,
      [meta.map((m) => m[0]), meta.map((m) => m[1])],
    );
    return true;
  });
  const durationMs = Math.round(performance.now() - started);
  logger?.info({ loaded, counts, seed: data.seed, durationMs }, loaded ? 'master data loaded' : 'master data already loaded');
  return { loaded, counts, checksum, durationMs };
}

async function alreadyLoaded(client: PoolClient, checksum: string, counts: MasterDataCounts): Promise<boolean> {
  const meta = await client.query<{ value: string }>("select value from master_data_meta where key = 'checksum'");
  if (meta.rows[0]?.value !== checksum) return false;
  // Rows deleted by hand behind the meta table's back must not pass for loaded.
  const { rows } = await client.query<MasterDataCounts>(`select
    (select count(*)::int from warehouses) as warehouses, (select count(*)::int from warehouse_zones) as zones,
    (select count(*)::int from companies) as companies, (select count(*)::int from customers) as customers,
    (select count(*)::int from products) as products`);
  const actual = rows[0];
  return actual !== undefined && (Object.keys(counts) as (keyof MasterDataCounts)[]).every((k) => actual[k] === counts[k]);
}

// One write per 1000 rows instead of per row: fewer stream round trips through pg.
