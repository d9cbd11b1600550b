import type { StockTotals } from './aggregates.js';
import type { Queryable } from './queryable.js';

/** The view's name in view_freshness. */
export const STOCK_BY_CATEGORY_DAILY_VIEW = 'stock_by_category_daily';

/** Stock of one category × storage condition at the end of a day on which it changed. */
export interface StockByCategoryDayRow extends Omit<StockTotals, 'updatedAt'> {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  category: string;
  storageCondition: string;
  /** The day's changes. */
  onHandChange: number;
  reservedChange: number;
  inventoryCountChange: number;
}

/**
 * The stock at the end of each day from `from` to `to` (UTC dates,
 * YYYY-MM-DD) on which it changed, per category × storage condition: the
 * running sum of the daily changes, the days before `from` included. In
 * (category, storage condition, day) order.
 */
export async function stockByCategoryDaily(
  db: Queryable,
  filters: { from: string; to: string; category?: string | undefined; storageCondition?: string | undefined },
): Promise<StockByCategoryDayRow[]> {
  const { rows } = await db.query<StockByCategoryDayRow>(
    `select to_char(day, 'YYYY-MM-DD') as day, category, storage_condition as "storageCondition",
            on_hand as "onHand", reserved, on_hand - reserved as available, inventory_count as "inventoryCount",
            on_hand_change as "onHandChange", reserved_change as "reservedChange", inventory_count_change as "inventoryCountChange"
       from (select day, category, storage_condition, on_hand_change, reserved_change, inventory_count_change,
                    (sum(on_hand_change) over w)::bigint as on_hand, (sum(reserved_change) over w)::bigint as reserved,
                    (sum(inventory_count_change) over w)::bigint as inventory_count
               from stock_by_category_daily
              where day <= $2::date and ($3::text is null or category = $3) and ($4::text is null or storage_condition = $4)
             window w as (partition by category, storage_condition order by day)) s
      where day >= $1::date
      order by category, storage_condition, day`,
    [filters.from, filters.to, filters.category ?? null, filters.storageCondition ?? null],
  );
  return rows;
}
