import type { Queryable } from './queryable.js';

/** One row of the `inventory_movements` audit log. */
export interface MovementRow {
  persistenceId: string;
  sequenceNr: number;
  eventId: string;
  eventType: string;
  movementType: string;
  quantity: number;
  onHandBefore: number;
  onHandAfter: number;
  reservedBefore: number;
  reservedAfter: number;
  warehouseId: string;
  zoneId: string;
  eventTime: Date;
  correlationId: string;
  causationId: string | null;
  detail: Record<string, unknown>;
  recordedAt: Date;
}

export const MOVEMENTS_VIEW = 'inventory_movements';

/**
 * One page of an inventory's movements in sequence order (the aggregate's own
 * order, which is also its event-time order), strictly after `afterSequenceNr`,
 * optionally restricted to event_time in [from, to).
 */
export async function listMovements(
  db: Queryable,
  persistenceId: string,
  range: { from?: Date; to?: Date },
  page: { afterSequenceNr?: number; limit: number },
): Promise<{ rows: MovementRow[]; hasMore: boolean }> {
  const params: unknown[] = [persistenceId];
  const where = ['persistence_id = $1'];
  const param = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (range.from !== undefined) where.push(`event_time >= ${param(range.from)}`);
  if (range.to !== undefined) where.push(`event_time < ${param(range.to)}`);
  if (page.afterSequenceNr !== undefined) where.push(`sequence_nr > ${param(page.afterSequenceNr)}`);
  const { rows } = await db.query<MovementRow>(
    `select persistence_id as "persistenceId", sequence_nr as "sequenceNr", event_id as "eventId",
            event_type as "eventType", movement_type as "movementType", quantity,
            on_hand_before as "onHandBefore", on_hand_after as "onHandAfter",
            reserved_before as "reservedBefore", reserved_after as "reservedAfter",
            warehouse_id as "warehouseId", zone_id as "zoneId", event_time as "eventTime",
            correlation_id as "correlationId", causation_id as "causationId", detail, recorded_at as "recordedAt"
       from inventory_movements
      where ${where.join(' and ')}
      order by sequence_nr
      limit ${param(page.limit + 1)}`,
    params,
  );
  return { rows: rows.slice(0, page.limit), hasMore: rows.length > page.limit };
}
