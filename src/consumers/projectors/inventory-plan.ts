import type { InventoryEvent } from '../../events/generated/inventory.js';
import { movementOf, stockDelta } from '../../command/inventory.js';

/**
 * The pure core of the inventory projector: from the current read-model rows
 * and the ready (contiguous, in-order) events of each inventory, compute the
 * new rows and the audit-log movements. No I/O — unit-tested without a
 * database. An event that would break an invariant (negative stock,
 * reserved > on hand, stock on an inventory never created) is rejected and
 * stops its inventory's run: what follows it waits for the journal's truth.
 */
export interface InventoryRow {
  persistenceId: string;
  inventoryId: string;
  productId: string;
  warehouseId: string;
  zoneId: string;
  productStorageCondition: string;
  zoneType: string;
  onHand: number;
  reserved: number;
  violations: number;
  lastSequenceNr: number;
  lastEventAt: number;
  lastSourceWrittenAt: number | null;
}

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
  eventTime: number;
  correlationId: string;
  causationId: string | null;
  detail: Record<string, unknown>;
}

export interface PlannedEvent {
  event: InventoryEvent;
  sourceWrittenAt: number | undefined;
}

export interface InventoryPlan<T> {
  rows: Map<string, InventoryRow>;
  movements: MovementRow[];
  applied: T[];
  rejected: { item: T; code: string; message: string }[];
  /** Items after a rejection, per id: they wait (parked) for the journal's version. */
  held: T[];
}

function detailOf(e: InventoryEvent): Record<string, unknown> {
  const { metadata: _m, ...rest } = e.data;
  return rest;
}

export function planInventory<T extends PlannedEvent>(
  current: ReadonlyMap<string, InventoryRow>,
  ready: ReadonlyMap<string, T[]>,
): InventoryPlan<T> {
  const rows = new Map<string, InventoryRow>();
  const movements: MovementRow[] = [];
  const applied: T[] = [];
  const rejected: InventoryPlan<T>['rejected'] = [];
  const held: T[] = [];

  for (const [pid, items] of ready) {
    const existing = current.get(pid);
    // One mutable working copy per inventory (not one object per event): batches are thousands of events.
    let row: InventoryRow | undefined = existing ? { ...existing } : undefined;
    let changed = false;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      const e = item.event;
      const md = e.data.metadata;
      let problem: { code: string; message: string } | undefined;
      if (e.type === 'InventoryCreated') {
        if (row) problem = { code: 'INVARIANT_ALREADY_CREATED', message: `${pid} already exists` };
        else {
          row = {
            persistenceId: pid,
            inventoryId: e.data.inventoryId,
            productId: e.data.productId,
            warehouseId: e.data.warehouseId,
            zoneId: e.data.zoneId,
            productStorageCondition: e.data.productStorageCondition,
            zoneType: e.data.zoneType,
            onHand: 0,
            reserved: 0,
            violations: 0,
            lastSequenceNr: 0,
            lastEventAt: md.occurredAt,
            lastSourceWrittenAt: null,
          };
        }
      } else if (!row) {
        problem = { code: 'INVARIANT_NOT_CREATED', message: `${e.type} for ${pid}, which was never created` };
      }
      const d = stockDelta(e);
      const onHand = (row?.onHand ?? 0) + d.onHand;
      const reserved = (row?.reserved ?? 0) + d.reserved;
      if (!problem && (onHand < 0 || reserved < 0 || reserved > onHand)) {
        problem = {
          code: 'INVARIANT_VIOLATION',
          message: `${e.type} seq ${md.sequenceNr} would make on hand ${onHand}, reserved ${reserved} for ${pid}`,
        };
      }
      if (problem || !row) {
        rejected.push({ item, code: problem!.code, message: problem!.message });
        for (let j = i + 1; j < items.length; j++) held.push(items[j]!);
        break;
      }
      const movement = movementOf(e);
      movements.push({
        persistenceId: pid,
        sequenceNr: md.sequenceNr,
        eventId: md.eventId,
        eventType: e.type,
        movementType: movement.movementType,
        quantity: movement.quantity,
        onHandBefore: row.onHand,
        onHandAfter: onHand,
        reservedBefore: row.reserved,
        reservedAfter: reserved,
        warehouseId: row.warehouseId,
        zoneId: row.zoneId,
        eventTime: md.occurredAt,
        correlationId: md.correlationId,
        causationId: md.causationId,
        detail: detailOf(e),
      });
      row.onHand = onHand;
      row.reserved = reserved;
      if (e.type === 'StorageConditionViolated') row.violations++;
      row.lastSequenceNr = md.sequenceNr;
      if (md.occurredAt > row.lastEventAt) row.lastEventAt = md.occurredAt;
      if (item.sourceWrittenAt !== undefined && item.sourceWrittenAt > (row.lastSourceWrittenAt ?? 0)) {
        row.lastSourceWrittenAt = item.sourceWrittenAt;
      }
      changed = true;
      applied.push(item);
    }
    if (changed && row) rows.set(pid, row);
  }
  return { rows, movements, applied, rejected, held };
}
