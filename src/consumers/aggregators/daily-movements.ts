import { movementOf } from '../../command/inventory.js';
import type { PoolClient } from '../../db/db.js';
import type { InventoryView } from './group-view.js';

/**
 * daily_movements: event-time tumbling windows of one UTC day per warehouse ×
 * zone × movement type. Movement type and quantity are the audit log's
 * (inventory_movements), so the view equals a GROUP BY over it.
 */
export const DAY_MS = 86_400_000;

export type LatePolicy = 'correct' | 'dead-letter';

export { movementOf };

/** Start of the UTC day holding `ms`, as epoch ms. */
export const dayStart = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;

/** When the window holding `ms` stops accepting events on time. */
export const windowClose = (ms: number, graceMs: number) => dayStart(ms) + DAY_MS + graceMs;

/** Late = the watermark (newest event time applied before this event) has passed the window's close. */
export const isLate = (eventTime: number, watermark: number | null, graceMs: number) =>
  watermark !== null && watermark >= windowClose(eventTime, graceMs);

export interface DailyDelta {
  /** Epoch ms of the UTC day start. */
  day: number;
  warehouseId: string;
  zoneId: string;
  movementType: string;
  eventCount: number;
  quantity: number;
  lateCount: number;
}

/** Accumulates one movement into `into` (keyed by window and dimensions). */
export function addDaily(
  into: Map<string, DailyDelta>,
  m: { day: number; warehouseId: string; zoneId: string; movementType: string },
  d: { eventCount: number; quantity: number; lateCount: number },
) {
  const key = `${m.day}|${m.warehouseId}|${m.zoneId}|${m.movementType}`;
  const cur = into.get(key);
  if (cur) {
    cur.eventCount += d.eventCount;
    cur.quantity += d.quantity;
    cur.lateCount += d.lateCount;
  } else into.set(key, { ...m, ...d });
}

/** Adds the deltas in one statement; rows in key order so concurrent writers lock them in the same order. */
export async function applyDailyMovements(tx: PoolClient, table: string, deltas: DailyDelta[]) {
  if (deltas.length === 0) return;
  await tx.query(
    `insert into ${table} as t (day, warehouse_id, zone_id, movement_type, event_count, quantity, late_count, updated_at)
     select (to_timestamp(d / 1000.0) at time zone 'UTC')::date, w, z, m, c, q, l, now()
     from unnest($1::double precision[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[]) x(d, w, z, m, c, q, l)
     order by 1, 2, 3, 4
     on conflict (day, warehouse_id, zone_id, movement_type) do update set
       event_count = t.event_count + excluded.event_count, quantity = t.quantity + excluded.quantity,
       late_count = t.late_count + excluded.late_count, updated_at = now()`,
    [
      deltas.map((d) => d.day),
      deltas.map((d) => d.warehouseId),
      deltas.map((d) => d.zoneId),
      deltas.map((d) => d.movementType),
      deltas.map((d) => d.eventCount),
      deltas.map((d) => d.quantity),
      deltas.map((d) => d.lateCount),
    ],
  );
}

/** The view: each applied event in its window (counted when `inWindow`, and in late_count when late). */
export const dailyMovementsView: InventoryView<DailyDelta[]> = {
  table: 'daily_movements',
  plan(steps) {
    const deltas = new Map<string, DailyDelta>();
    for (const { event, state, late, inWindow } of steps) {
      const m = movementOf(event);
      addDaily(
        deltas,
        { day: dayStart(event.data.metadata.occurredAt), warehouseId: state.warehouseId, zoneId: state.zoneId, movementType: m.movementType },
        { eventCount: inWindow ? 1 : 0, quantity: inWindow ? m.quantity : 0, lateCount: late ? 1 : 0 },
      );
    }
    return [...deltas.values()];
  },
  write: applyDailyMovements,
};
