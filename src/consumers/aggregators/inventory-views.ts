import type { PoolClient } from '../../db/db.js';
import { dailyMovementsView } from './daily-movements.js';
import type { InventoryView, ViewStep } from './group-view.js';
import { lowStockAlerts } from './low-stock-alerts.js';
import { stockByCategoryDaily } from './stock-by-category-daily.js';
import { stockByCategoryCondition, stockByWarehouseZone } from './stock-views.js';

/**
 * The views of the `inventory-views` group, one entry each. Their tables,
 * the rebuild's shadow tables, the freshness rows and the writes all derive
 * from this list. The order is the order rows are written in — the lock
 * order every transaction of the group follows — so a new view goes last.
 */
export const inventoryViews = {
  stockByZone: stockByWarehouseZone,
  stockByCategory: stockByCategoryCondition,
  alerts: lowStockAlerts,
  daily: dailyMovementsView,
  stockByCategoryDaily,
};

type Views = typeof inventoryViews;
export type ViewKey = keyof Views;
/** Each view's row changes of one batch, by key. */
export type InventoryViewChanges = { [K in ViewKey]: Views[K] extends InventoryView<infer C> ? C : never };

const views: { [K in ViewKey]: InventoryView<InventoryViewChanges[K]> } = inventoryViews;
export const viewKeys = Object.keys(inventoryViews) as ViewKey[];

/** Pure: every view's changes from the batch's applied steps (stream order). */
export function planInventoryViews(steps: readonly ViewStep[]): InventoryViewChanges {
  const planOne = <K extends ViewKey>(k: K): [K, InventoryViewChanges[K]] => [k, views[k].plan(steps)];
  return Object.fromEntries(viewKeys.map(planOne)) as InventoryViewChanges;
}

/** Writes every view's changes into its table of `tables`, in the list's order. */
export async function writeInventoryViews(tx: PoolClient, tables: Readonly<Record<ViewKey, string>>, changes: InventoryViewChanges): Promise<void> {
  const writeOne = <K extends ViewKey>(k: K) => views[k].write(tx, tables[k], changes[k]);
  for (const k of viewKeys) await writeOne(k);
}
