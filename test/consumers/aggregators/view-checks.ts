import type { Pool } from '../../../src/db/db.js';
import { liveViewTables, type ViewTables } from '../../../src/consumers/aggregators/view-tables.js';

/**
 * The aggregated views next to the GROUP BY over the projector's read model
 * that they must equal, as sorted plain rows for toEqual.
 */
export async function viewsAndReference(pool: Pool, t: ViewTables = liveViewTables) {
  const q = async (sql: string) => (await pool.query(sql)).rows;
  return {
    zone: await q(`select warehouse_id, zone_id, on_hand::int, reserved::int, available::int, inventory_count
      from ${t.stockByZone} where inventory_count > 0 order by 1, 2`),
    zoneRef: await q(`select warehouse_id, zone_id, sum(on_hand)::int as on_hand, sum(reserved)::int as reserved,
      sum(available)::int as available, count(*)::int as inventory_count from inventories group by 1, 2 order by 1, 2`),
    category: await q(`select category, storage_condition, on_hand::int, reserved::int, available::int, inventory_count
      from ${t.stockByCategory} where inventory_count > 0 order by 1, 2`),
    categoryRef: await q(`select p.category, p.storage_condition, sum(i.on_hand)::int as on_hand, sum(i.reserved)::int as reserved,
      sum(i.available)::int as available, count(*)::int as inventory_count
      from inventories i join products p using (product_id) group by 1, 2 order by 1, 2`),
    daily: await q(`select day::text, warehouse_id, zone_id, movement_type, event_count::int, quantity::int
      from ${t.daily} where event_count > 0 order by 1, 2, 3, 4`),
    dailyRef: await q(`select (event_time at time zone 'UTC')::date::text as day, warehouse_id, zone_id, movement_type,
      count(*)::int as event_count, sum(quantity)::int as quantity from inventory_movements group by 1, 2, 3, 4 order by 1, 2, 3, 4`),
    openAlerts: await q(`select persistence_id, product_id, warehouse_id, zone_id, threshold from ${t.alerts}
      where closed_at is null order by 1`),
    openAlertsRef: await q(`select i.persistence_id, i.product_id, i.warehouse_id, i.zone_id, z.low_stock_threshold as threshold
      from inventories i join warehouse_zones z using (zone_id) where i.available < z.low_stock_threshold order by 1`),
  };
}

/** Everything the group wrote, minus timestamps of the write and surrogate ids, for incremental-vs-rebuild equality. */
export async function viewContents(pool: Pool, t: ViewTables) {
  const q = async (sql: string) => (await pool.query(sql)).rows;
  return {
    state: await q(`select persistence_id, inventory_id, product_id, warehouse_id, zone_id, category, storage_condition,
      on_hand, reserved, alert_open, last_sequence_nr from ${t.state} order by 1`),
    zone: await q(`select warehouse_id, zone_id, on_hand, reserved, available, inventory_count from ${t.stockByZone} order by 1, 2`),
    category: await q(`select category, storage_condition, on_hand, reserved, available, inventory_count from ${t.stockByCategory} order by 1, 2`),
    alerts: await q(`select persistence_id, inventory_id, product_id, warehouse_id, zone_id, threshold, available_at_open,
      opened_at, closed_at, available_at_close from ${t.alerts} order by 1, opened_at, closed_at nulls last`),
    daily: await q(`select day::text, warehouse_id, zone_id, movement_type, event_count, quantity, late_count from ${t.daily} order by 1, 2, 3, 4`),
  };
}

/** Sum of next offsets a group stored, to wait until it has consumed the topic. */
export async function storedOffsetSum(pool: Pool, groupId: string): Promise<number> {
  const { rows } = await pool.query<{ n: number | null }>('select sum(next_offset)::int as n from consumer_offsets where group_id = $1', [groupId]);
  return rows[0]!.n ?? 0;
}
