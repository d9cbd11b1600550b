import type { PoolClient } from '../../db/db.js';
import type { DependentView, InventoryView, ViewState } from './group-view.js';
import { zoneUtilisation } from './zone-utilisation.js';

/**
 * stock_by_warehouse_zone and stock_by_category_condition: sums of on hand /
 * reserved and the count of inventories per group, kept by deltas. Available
 * is a generated column (on_hand − reserved), so it cannot drift.
 */
export interface StockDelta {
  /** The group's key: [warehouse_id, zone_id] or [category, storage_condition]. */
  key: [string, string];
  onHand: number;
  reserved: number;
  inventoryCount: number;
}

export function addStock(into: Map<string, StockDelta>, key: [string, string], d: Omit<StockDelta, 'key'>) {
  const k = `${key[0]}|${key[1]}`;
  const cur = into.get(k);
  if (cur) {
    cur.onHand += d.onHand;
    cur.reserved += d.reserved;
    cur.inventoryCount += d.inventoryCount;
  } else into.set(k, { key, ...d });
}

/** Drops deltas that change nothing (a reservation released in the same batch): fewer rows to lock. */
export const nonZero = (d: StockDelta) => d.onHand !== 0 || d.reserved !== 0 || d.inventoryCount !== 0;

export type StockView = 'zone' | 'category';
const KEY_COLUMNS: Record<StockView, [string, string]> = {
  zone: ['warehouse_id', 'zone_id'],
  category: ['category', 'storage_condition'],
};

/** Adds the deltas in one statement; rows in key order so concurrent writers lock them in the same order. */
export async function applyStockDeltas(tx: PoolClient, table: string, view: StockView, deltas: StockDelta[]) {
  const rows = deltas.filter(nonZero);
  if (rows.length === 0) return;
  const [a, b] = KEY_COLUMNS[view];
  await tx.query(
    `insert into ${table} as t (${a}, ${b}, on_hand, reserved, inventory_count, updated_at)
     select a, b, oh, r, c, now() from unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::int[]) x(a, b, oh, r, c)
     order by 1, 2
     on conflict (${a}, ${b}) do update set
       on_hand = t.on_hand + excluded.on_hand, reserved = t.reserved + excluded.reserved,
       inventory_count = t.inventory_count + excluded.inventory_count, updated_at = now()`,
    [rows.map((d) => d.key[0]), rows.map((d) => d.key[1]), rows.map((d) => d.onHand), rows.map((d) => d.reserved), rows.map((d) => d.inventoryCount)],
  );
}

/** A stock view keyed by two of the inventory's mapping fields. */
function stockView(table: string, view: StockView, keyOf: (s: ViewState) => [string, string], dependents: DependentView[] = []): InventoryView<StockDelta[]> {
  return {
    table,
    dependents,
    plan(steps) {
      const deltas = new Map<string, StockDelta>();
      for (const step of steps) addStock(deltas, keyOf(step.state), step.delta);
      return [...deltas.values()];
    },
    write: (tx, t, deltas) => applyStockDeltas(tx, t, view, deltas),
  };
}

export const stockByWarehouseZone = stockView('stock_by_warehouse_zone', 'zone', (s) => [s.warehouseId, s.zoneId], [zoneUtilisation]);
export const stockByCategoryCondition = stockView('stock_by_category_condition', 'category', (s) => [s.category, s.storageCondition]);
