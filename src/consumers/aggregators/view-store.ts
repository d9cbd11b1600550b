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

/**
 * Upserts changed states in one statement (the rows as arrays, unnested):
 * one round trip whatever the batch, where a staging table cost four (create,
 * truncate, COPY, insert) — most of a small batch's time at the head of the
 * topic (issue 33).
 */
export async function saveStates(tx: PoolClient, table: string, states: Iterable<ViewState>) {
  const rows = [...states];
  if (rows.length === 0) return;
  const col = <T>(f: (s: ViewState) => T) => rows.map(f);
  await tx.query(
    `insert into ${table} (persistence_id, inventory_id, product_id, warehouse_id, zone_id, category, storage_condition,
       on_hand, reserved, alert_open, last_sequence_nr, updated_at)
     select *, now() from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
       $8::int[], $9::int[], $10::bool[], $11::bigint[])
     on conflict (persistence_id) do update set
       on_hand = excluded.on_hand, reserved = excluded.reserved, alert_open = excluded.alert_open,
       last_sequence_nr = excluded.last_sequence_nr, updated_at = now()`,
    [
      col((s) => s.persistenceId), col((s) => s.inventoryId), col((s) => s.productId), col((s) => s.warehouseId), col((s) => s.zoneId),
      col((s) => s.category), col((s) => s.storageCondition), col((s) => s.onHand), col((s) => s.reserved), col((s) => s.alertOpen),
      col((s) => s.lastSequenceNr),
    ],
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
