import type { PoolClient } from '../../db/db.js';
import type { DependentView } from './group-view.js';

/**
 * zone_utilisation: stock against zone capacity, a SQL view over
 * stock_by_warehouse_zone (so it can never disagree with its input).
 */
export const zoneUtilisation: DependentView = {
  name: 'zone_utilisation',
  recreate: recreateZoneUtilisation,
};

/**
 * Points zone_utilisation at whatever table is now named
 * stock_by_warehouse_zone. Run it inside a swap's transaction, after the
 * renames: the view would otherwise keep reading the old table (a view is
 * bound to the table, not to its name) and block dropping it.
 */
export async function recreateZoneUtilisation(tx: PoolClient): Promise<void> {
  await tx.query(`create or replace view zone_utilisation as
    select z.warehouse_id, z.zone_id, z.zone_type, z.capacity_units,
           coalesce(s.on_hand, 0)::bigint as on_hand,
           round(coalesce(s.on_hand, 0)::numeric / z.capacity_units, 6) as utilisation
    from warehouse_zones z
    left join stock_by_warehouse_zone s on s.warehouse_id = z.warehouse_id and s.zone_id = z.zone_id`);
}
