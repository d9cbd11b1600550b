import { copyLines, copyRow } from '../../db/copy.js';
import type { PoolClient } from '../../db/db.js';
import type { Partition } from '../parking-store.js';
import type { MasterData, ViewState } from './inventory-views-plan.js';

/**
 * SQL of the aggregator's own bookkeeping: per-inventory state, the
 * event-time watermark (kept per partition) and master-data lookups; parked
 * events are the ordered-handler core's (parking-store.ts). Every function
 * runs on the caller's transaction.
 */

/** A partition's key in the maps of watermarks. */
export const partitionKey = (p: Partition) => `${p.topic}/${p.partition}`;

/**
 * Locks and reads the watermarks of `parts` (in the order given: every
 * caller gives (topic, partition) order), keyed by {@link partitionKey}; null
 * where nothing was seen yet. Taken before the per-id locks in every
 * transaction of the group (batches and maintain()), so lock order is the
 * same everywhere.
 */
export async function lockWatermarks(tx: PoolClient, groupId: string, parts: readonly Partition[]): Promise<Map<string, number | null>> {
  // An upsert that touches the rows locks and reads them in one round trip, in the order of the select
  // (`with ordinality`); epoch 0 stands for "nothing seen yet".
  const { rows } = await tx.query<{ topic: string; partition: number; ms: number }>(
    `insert into view_watermarks as w (group_id, topic, partition, watermark)
     select $1, t, p, to_timestamp(0) from unnest($2::text[], $3::int[]) with ordinality as x(t, p, n) order by n
     on conflict (group_id, topic, partition) do update set watermark = w.watermark
     returning w.topic, w.partition, (extract(epoch from w.watermark) * 1000)::float8 as ms`,
    [groupId, parts.map((p) => p.topic), parts.map((p) => p.partition)],
  );
  return new Map(rows.map((r) => [partitionKey(r), r.ms === 0 ? null : r.ms]));
}

/** Moves the watermarks forward (never back), one statement for all partitions. */
export async function saveWatermarks(tx: PoolClient, groupId: string, watermarks: readonly { part: Partition; watermark: number | null }[]) {
  const moved = watermarks.filter((w) => w.watermark !== null);
  if (moved.length === 0) return;
  await tx.query(
    `update view_watermarks v set watermark = greatest(v.watermark, to_timestamp(x.ms / 1000.0)), updated_at = now()
     from unnest($2::text[], $3::int[], $4::float8[]) as x(t, p, ms)
     where v.group_id = $1 and v.topic = x.t and v.partition = x.p`,
    [groupId, moved.map((w) => w.part.topic), moved.map((w) => w.part.partition), moved.map((w) => w.watermark)],
  );
}

/** Locks the ids (advisory, sorted: no deadlock with maintain() or another instance) and reads their state. */
export async function loadStates(tx: PoolClient, table: string, pids: string[]): Promise<Map<string, ViewState>> {
  // Keyed by table too, so the projector's locks on the same ids never contend with these.
  await tx.query(
    `select pg_advisory_xact_lock(h) from (select hashtextextended($2 || ':' || p, 0) h from unnest($1::text[]) p order by 1) s`,
    [pids, table],
  );
  const { rows } = await tx.query<{
    persistence_id: string; inventory_id: string; product_id: string; warehouse_id: string; zone_id: string;
    category: string; storage_condition: string; on_hand: number; reserved: number; alert_open: boolean; last_sequence_nr: number;
  }>(`select * from ${table} where persistence_id = any($1)`, [pids]);
  return new Map(
    rows.map((r) => [
      r.persistence_id,
      {
        persistenceId: r.persistence_id,
        inventoryId: r.inventory_id,
        productId: r.product_id,
        warehouseId: r.warehouse_id,
        zoneId: r.zone_id,
        category: r.category,
        storageCondition: r.storage_condition,
        onHand: r.on_hand,
        reserved: r.reserved,
        alertOpen: r.alert_open,
        lastSequenceNr: r.last_sequence_nr,
      },
    ]),
  );
}

/** Upserts changed states: COPY into a staging table, then one set-based statement. */
export async function saveStates(tx: PoolClient, table: string, states: Iterable<ViewState>) {
  const lines: string[] = [];
  for (const s of states) {
    lines.push(
      copyRow([
        s.persistenceId, s.inventoryId, s.productId, s.warehouseId, s.zoneId, s.category, s.storageCondition,
        s.onHand, s.reserved, s.alertOpen, s.lastSequenceNr,
      ]),
    );
  }
  if (lines.length === 0) return;
  const cols = `persistence_id, inventory_id, product_id, warehouse_id, zone_id, category, storage_condition,
    on_hand, reserved, alert_open, last_sequence_nr`;
  // Every time: a rolled-back first transaction on this connection would have taken the table with it.
  await tx.query(`create temp table if not exists stg_inventory_view_state (
    persistence_id text, inventory_id text, product_id text, warehouse_id text, zone_id text, category text,
    storage_condition text, on_hand integer, reserved integer, alert_open boolean, last_sequence_nr bigint) on commit delete rows`);
  // Emptied first: one transaction can write more than once (a failing batch's events applied one by one under
  // savepoints), and `on commit delete rows` empties it only at commit.
  await tx.query('truncate stg_inventory_view_state');
  await copyLines(tx, `copy stg_inventory_view_state (${cols}) from stdin`, lines);
  await tx.query(
    `insert into ${table} (${cols}, updated_at)
     select ${cols}, now() from stg_inventory_view_state
     on conflict (persistence_id) do update set
       on_hand = excluded.on_hand, reserved = excluded.reserved, alert_open = excluded.alert_open,
       last_sequence_nr = excluded.last_sequence_nr, updated_at = now()`,
  );
}

/** Product category / condition of the products created in this batch, and every zone's current threshold. */
export async function loadMaster(tx: PoolClient, productIds: string[]): Promise<MasterData> {
  // Products only matter for creations, which are rare after the first load.
  const products = productIds.length === 0 ? { rows: [] } : await tx.query<{ product_id: string; category: string; storage_condition: string }>(
    'select product_id, category, storage_condition from products where product_id = any($1)',
    [productIds],
  );
  const zones = await tx.query<{ zone_id: string; low_stock_threshold: number }>('select zone_id, low_stock_threshold from warehouse_zones');
  return {
    products: new Map(products.rows.map((r) => [r.product_id, { category: r.category, storageCondition: r.storage_condition }])),
    thresholds: new Map(zones.rows.map((r) => [r.zone_id, r.low_stock_threshold])),
  };
}
