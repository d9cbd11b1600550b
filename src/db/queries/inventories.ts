import DataLoader from 'dataloader';
import type { ViewFreshnessRow } from '../view-freshness.js';
import type { Queryable } from './queryable.js';

/** The `inventories` read model, as the API serves it. */
export interface InventoryRow {
  persistenceId: string;
  inventoryId: string;
  productId: string;
  warehouseId: string;
  zoneId: string;
  productStorageCondition: string;
  zoneType: string;
  onHand: number;
  reserved: number;
  available: number;
  violations: number;
  lastSequenceNr: number;
  /** Event (command-side) time of the newest applied event. */
  lastEventAt: Date;
  /** Journal `written_at` of the newest applied event; null for rows projected before it was carried. */
  lastSourceWrittenAt: Date | null;
  /** When the read model row was last written. */
  updatedAt: Date;
}

export const INVENTORIES_VIEW = 'inventories';

const COLUMNS = `i.persistence_id as "persistenceId", i.inventory_id as "inventoryId", i.product_id as "productId",
  i.warehouse_id as "warehouseId", i.zone_id as "zoneId", i.product_storage_condition as "productStorageCondition",
  i.zone_type as "zoneType", i.on_hand as "onHand", i.reserved, i.available, i.violations,
  i.last_sequence_nr as "lastSequenceNr", i.last_event_at as "lastEventAt",
  i.last_source_written_at as "lastSourceWrittenAt", i.updated_at as "updatedAt"`;

const withFreshness = (where: string) => `select ${COLUMNS},
  f.group_id as "freshnessGroupId", f.last_source_time as "freshnessLastSourceTime",
  f.last_event_time as "freshnessLastEventTime", f.last_commit_time as "freshnessLastCommitTime",
  f.last_canary_time as "freshnessLastCanaryTime"
  from inventories i left join view_freshness f on f.view_name = '${INVENTORIES_VIEW}'
  where ${where} and not i.deleted`;
const byColumn = (column: 'persistence_id' | 'inventory_id') => withFreshness(`i.${column} = $1`);

/**
 * One round trip per lookup: the row together with the freshness of the
 * `inventories` view, so both describe the same instant. Named, so each
 * connection parses and plans it once (a single unique-index probe).
 * Exported so the benchmark issues exactly the API's query through pg.
 */
export const INVENTORY_BY_INVENTORY_ID = { name: 'api-inventory-by-inventory-id', text: byColumn('inventory_id') };
export const INVENTORY_BY_PERSISTENCE_ID = { name: 'api-inventory-by-persistence-id', text: byColumn('persistence_id') };

interface InventoryByIdRecord extends InventoryRow {
  freshnessGroupId: string | null;
  freshnessLastSourceTime: Date | null;
  freshnessLastEventTime: Date | null;
  freshnessLastCommitTime: Date | null;
  freshnessLastCanaryTime: Date | null;
}

export interface InventoryWithFreshness {
  inventory: InventoryRow;
  freshness: ViewFreshnessRow | undefined;
}

/**
 * The inventory with `id` — an inventory id (INV-000123) or a persistence id
 * (inventory-INV-000123) — or undefined; deleted rows are not found. The id's
 * shape picks the index probed first; the other is tried only on a miss, so a
 * journal layout with other persistence ids still resolves.
 */
export async function findInventory(db: Queryable, id: string): Promise<InventoryWithFreshness | undefined> {
  const order = id.startsWith('inventory-')
    ? [INVENTORY_BY_PERSISTENCE_ID, INVENTORY_BY_INVENTORY_ID]
    : [INVENTORY_BY_INVENTORY_ID, INVENTORY_BY_PERSISTENCE_ID];
  for (const statement of order) {
    const { rows } = await db.query<InventoryByIdRecord>({ ...statement, values: [id] });
    const r = rows[0];
    if (r) return split(r);
  }
  return undefined;
}

/** Several inventories by inventory id in one statement (the unique index probed once per id). */
export const INVENTORIES_BY_INVENTORY_IDS = { name: 'api-inventories-by-inventory-ids', text: withFreshness('i.inventory_id = any($1::text[])') };

/**
 * findInventory with the lookups of one turn of the event loop sent as one
 * statement (DataLoader, scheduled on setImmediate): the ids asked for while
 * the HTTP server handles one round of socket reads go to PostgreSQL together
 * (`inventory_id = any($1)`, at most `maxBatch` per statement), so N
 * concurrent requests cost one round trip, one execution and one row
 * description instead of N. Answers are the same as findInventory's: every
 * answer of a batch comes from one statement (one snapshot) with the view's
 * freshness of that instant; an id shaped like a persistence id, or not found
 * by inventory id, takes findInventory's path; an error of the batch's
 * statement is every waiter's error. Nothing is cached between turns: a
 * lookup always reads the table.
 */
export function createInventoryLookup(db: Queryable, { maxBatch = 64 } = {}): (id: string) => Promise<InventoryWithFreshness | undefined> {
  const loader = new DataLoader<string, InventoryWithFreshness | undefined>(
    async (ids) => {
      const { rows } = await db.query<InventoryByIdRecord>({ ...INVENTORIES_BY_INVENTORY_IDS, values: [[...new Set(ids)]] });
      const byId = new Map(rows.map((r) => [r.inventoryId, r]));
      return ids.map((id) => {
        const r = byId.get(id);
        return r ? split(r) : undefined;
      });
    },
    { cache: false, maxBatchSize: maxBatch, batchScheduleFn: (send) => setImmediate(send) },
  );
  return async (id) => {
    if (id.startsWith('inventory-')) return findInventory(db, id);
    const found = await loader.load(id);
    if (found) return found;
    const { rows } = await db.query<InventoryByIdRecord>({ ...INVENTORY_BY_PERSISTENCE_ID, values: [id] });
    return rows[0] ? split(rows[0]) : undefined;
  };
}

function split(r: InventoryByIdRecord): InventoryWithFreshness {
  const { freshnessGroupId, freshnessLastSourceTime, freshnessLastEventTime, freshnessLastCommitTime, freshnessLastCanaryTime, ...inventory } = r;
  const freshness =
    freshnessGroupId !== null && freshnessLastCommitTime !== null
      ? {
          viewName: INVENTORIES_VIEW,
          groupId: freshnessGroupId,
          lastSourceTime: freshnessLastSourceTime,
          lastEventTime: freshnessLastEventTime,
          lastCommitTime: freshnessLastCommitTime,
          lastCanaryTime: freshnessLastCanaryTime,
        }
      : undefined;
  return { inventory, freshness };
}

/** The persistence id of an inventory (by inventory id or persistence id), or undefined. */
export async function resolvePersistenceId(db: Queryable, id: string): Promise<string | undefined> {
  const { rows } = await db.query<{ persistenceId: string }>(
    `select persistence_id as "persistenceId" from inventories
      where (persistence_id = $1 or inventory_id = $1) and not deleted limit 1`,
    [id],
  );
  return rows[0]?.persistenceId;
}

export interface InventoryFilters {
  warehouseId?: string;
  zoneId?: string;
  productId?: string;
  category?: string;
  storageCondition?: string;
  /** true: available < the zone's low_stock_threshold; false: at or above it. */
  belowThreshold?: boolean;
}

/**
 * One page of inventories matching `filters`, in persistence_id order,
 * strictly after `afterPersistenceId` (keyset pagination: stable under
 * concurrent inserts, no OFFSET scans). Returns up to `limit` rows and
 * whether more follow.
 */
export async function listInventories(
  db: Queryable,
  filters: InventoryFilters,
  page: { afterPersistenceId?: string; limit: number },
): Promise<{ rows: InventoryRow[]; hasMore: boolean }> {
  const params: unknown[] = [];
  const where: string[] = ['not i.deleted'];
  const joins: string[] = [];
  const param = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (filters.warehouseId !== undefined) where.push(`i.warehouse_id = ${param(filters.warehouseId)}`);
  if (filters.zoneId !== undefined) where.push(`i.zone_id = ${param(filters.zoneId)}`);
  if (filters.productId !== undefined) where.push(`i.product_id = ${param(filters.productId)}`);
  if (filters.storageCondition !== undefined) where.push(`i.product_storage_condition = ${param(filters.storageCondition)}`);
  if (filters.category !== undefined) {
    joins.push('join products p on p.product_id = i.product_id');
    where.push(`p.category = ${param(filters.category)}`);
  }
  if (filters.belowThreshold !== undefined) {
    joins.push('join warehouse_zones z on z.zone_id = i.zone_id');
    where.push(filters.belowThreshold ? 'i.available < z.low_stock_threshold' : 'i.available >= z.low_stock_threshold');
  }
  if (page.afterPersistenceId !== undefined) where.push(`i.persistence_id > ${param(page.afterPersistenceId)}`);
  const { rows } = await db.query<InventoryRow>(
    `select ${COLUMNS} from inventories i ${joins.join(' ')}
      where ${where.join(' and ')}
      order by i.persistence_id
      limit ${param(page.limit + 1)}`,
    params,
  );
  return { rows: rows.slice(0, page.limit), hasMore: rows.length > page.limit };
}
