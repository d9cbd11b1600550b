import type { Queryable } from './queryable.js';

/** Names of the materialized views of the `inventory-views` group, as in view_freshness. */
export const AGGREGATE_VIEWS = {
  stockByWarehouseZone: 'stock_by_warehouse_zone',
  stockByCategoryCondition: 'stock_by_category_condition',
  zoneUtilisation: 'zone_utilisation',
  dailyMovements: 'daily_movements',
  lowStockAlerts: 'low_stock_alerts',
} as const;

/** The columns every stock view has (available = on hand − reserved, generated). */
export interface StockTotals {
  onHand: number;
  reserved: number;
  available: number;
  inventoryCount: number;
  updatedAt: Date;
}

export interface StockByWarehouseZoneRow extends StockTotals {
  warehouseId: string;
  zoneId: string;
}

export interface StockByCategoryConditionRow extends StockTotals {
  category: string;
  storageCondition: string;
}

export interface ZoneUtilisationRow {
  warehouseId: string;
  zoneId: string;
  zoneType: string;
  capacityUnits: number;
  onHand: number;
  /** on_hand / capacity_units (1 = full). */
  utilisation: number;
}

export interface DailyMovementRow {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  warehouseId: string;
  zoneId: string;
  movementType: string;
  eventCount: number;
  quantity: number;
  lateCount: number;
  updatedAt: Date;
}

/** A tiny WHERE builder: equality on the given columns for the defined values. */
function equalities(filters: Record<string, string | undefined>, params: unknown[]): string[] {
  const out: string[] = [];
  for (const [column, value] of Object.entries(filters)) {
    if (value === undefined) continue;
    params.push(value);
    out.push(`${column} = $${params.length}`);
  }
  return out;
}

const whereClause = (conds: string[]) => (conds.length ? `where ${conds.join(' and ')}` : '');

/** Stock per warehouse × zone (at most one row per zone: 9 at the seed's scale). */
export async function stockByWarehouseZone(
  db: Queryable,
  filters: { warehouseId?: string; zoneId?: string },
): Promise<StockByWarehouseZoneRow[]> {
  const params: unknown[] = [];
  const where = whereClause(equalities({ warehouse_id: filters.warehouseId, zone_id: filters.zoneId }, params));
  const { rows } = await db.query<StockByWarehouseZoneRow>(
    `select warehouse_id as "warehouseId", zone_id as "zoneId", on_hand as "onHand", reserved, available,
            inventory_count as "inventoryCount", updated_at as "updatedAt"
       from stock_by_warehouse_zone ${where} order by warehouse_id, zone_id`,
    params,
  );
  return rows;
}

/** Stock per product category × storage condition (a handful of rows). */
export async function stockByCategoryCondition(
  db: Queryable,
  filters: { category?: string; storageCondition?: string },
): Promise<StockByCategoryConditionRow[]> {
  const params: unknown[] = [];
  const where = whereClause(
    equalities({ category: filters.category, storage_condition: filters.storageCondition }, params),
  );
  const { rows } = await db.query<StockByCategoryConditionRow>(
    `select category, storage_condition as "storageCondition", on_hand as "onHand", reserved, available,
            inventory_count as "inventoryCount", updated_at as "updatedAt"
       from stock_by_category_condition ${where} order by category, storage_condition`,
    params,
  );
  return rows;
}

/** Every zone with its stock against capacity (zones without stock show 0). */
export async function zoneUtilisation(
  db: Queryable,
  filters: { warehouseId?: string; zoneType?: string },
): Promise<ZoneUtilisationRow[]> {
  const params: unknown[] = [];
  const where = whereClause(equalities({ warehouse_id: filters.warehouseId, zone_type: filters.zoneType }, params));
  const { rows } = await db.query<ZoneUtilisationRow>(
    `select warehouse_id as "warehouseId", zone_id as "zoneId", zone_type as "zoneType",
            capacity_units as "capacityUnits", on_hand as "onHand", utilisation::float8 as utilisation
       from zone_utilisation ${where} order by warehouse_id, zone_id`,
    params,
  );
  return rows;
}

export interface DailyMovementsKey {
  day: string;
  warehouseId: string;
  zoneId: string;
  movementType: string;
}

/**
 * Daily movement windows with `from` ≤ day ≤ `to` (UTC dates, YYYY-MM-DD), in
 * (day, warehouse, zone, movement type) order, strictly after `after`.
 */
export async function dailyMovements(
  db: Queryable,
  filters: { from: string; to: string; warehouseId?: string; zoneId?: string; movementType?: string },
  page: { after?: DailyMovementsKey; limit: number },
): Promise<{ rows: DailyMovementRow[]; hasMore: boolean }> {
  const params: unknown[] = [filters.from, filters.to];
  const conds = [
    'day >= $1::date',
    'day <= $2::date',
    ...equalities(
      { warehouse_id: filters.warehouseId, zone_id: filters.zoneId, movement_type: filters.movementType },
      params,
    ),
  ];
  if (page.after) {
    const a = page.after;
    params.push(a.day, a.warehouseId, a.zoneId, a.movementType);
    const n = params.length;
    conds.push(`(day, warehouse_id, zone_id, movement_type) > ($${n - 3}::date, $${n - 2}, $${n - 1}, $${n})`);
  }
  params.push(page.limit + 1);
  const { rows } = await db.query<DailyMovementRow>(
    `select to_char(day, 'YYYY-MM-DD') as day, warehouse_id as "warehouseId", zone_id as "zoneId",
            movement_type as "movementType", event_count as "eventCount", quantity, late_count as "lateCount",
            updated_at as "updatedAt"
       from daily_movements ${whereClause(conds)}
      order by day, warehouse_id, zone_id, movement_type
      limit $${params.length}`,
    params,
  );
  return { rows: rows.slice(0, page.limit), hasMore: rows.length > page.limit };
}
