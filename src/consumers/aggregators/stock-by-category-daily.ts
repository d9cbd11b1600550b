import type { PoolClient } from '../../db/db.js';
import { dayStart } from './daily-movements.js';
import type { InventoryView, ViewStep } from './group-view.js';

/**
 * stock_by_category_daily: the net stock change per category × storage
 * condition × UTC day of the event, so that the stock at the end of any day is
 * the running sum up to it. Not windowed: like the stock views, every applied
 * event counts, late or not (in its own day).
 */
export interface CategoryDayDelta {
  /** Epoch ms of the UTC day start. */
  day: number;
  category: string;
  storageCondition: string;
  onHand: number;
  reserved: number;
  inventoryCount: number;
}

/** Pure: the batch's changes per (category, storage condition, day); days whose changes cancel out are left out. */
export function planCategoryDays(steps: readonly ViewStep[]): CategoryDayDelta[] {
  const out = new Map<string, CategoryDayDelta>();
  for (const { event, state, delta } of steps) {
    const day = dayStart(event.data.metadata.occurredAt);
    const key = `${state.category}|${state.storageCondition}|${day}`;
    const cur = out.get(key) ?? { day, category: state.category, storageCondition: state.storageCondition, onHand: 0, reserved: 0, inventoryCount: 0 };
    cur.onHand += delta.onHand;
    cur.reserved += delta.reserved;
    cur.inventoryCount += delta.inventoryCount;
    out.set(key, cur);
  }
  return [...out.values()].filter((d) => d.onHand !== 0 || d.reserved !== 0 || d.inventoryCount !== 0);
}

/** The statement's parameters, one array per column, in its unnest order. */
const COLUMNS = ['category', 'storageCondition', 'day', 'onHand', 'reserved', 'inventoryCount'] as const;

/** Adds the changes in one statement, rows in key order (concurrent writers lock them in the same order). */
async function applyCategoryDays(tx: PoolClient, table: string, deltas: CategoryDayDelta[]): Promise<void> {
  if (deltas.length === 0) return;
  await tx.query(
    `insert into ${table} as t (category, storage_condition, day, on_hand_change, reserved_change, inventory_count_change, updated_at)
     select c, s, (to_timestamp(d / 1000.0) at time zone 'UTC')::date, oh, r, n, now()
     from unnest($1::text[], $2::text[], $3::double precision[], $4::bigint[], $5::bigint[], $6::int[]) x(c, s, d, oh, r, n)
     order by 1, 2, 3
     on conflict (category, storage_condition, day) do update set
       on_hand_change = t.on_hand_change + excluded.on_hand_change, reserved_change = t.reserved_change + excluded.reserved_change,
       inventory_count_change = t.inventory_count_change + excluded.inventory_count_change, updated_at = now()`,
    COLUMNS.map((k) => deltas.map((d) => d[k])),
  );
}

export const stockByCategoryDaily: InventoryView<CategoryDayDelta[]> = {
  table: 'stock_by_category_daily',
  plan: planCategoryDays,
  write: applyCategoryDays,
};
