import { describe, expect, it } from 'vitest';
import { planInventory, type PlannedEvent } from '../../src/consumers/projectors/inventory-plan.js';
import type { InventoryEvent } from '../../src/events/generated/inventory.js';

const md = (seq: number) => ({ eventId: `e${seq}`, persistenceId: 'inventory-A', sequenceNr: seq, occurredAt: 1_000 + seq, correlationId: 'c', causationId: null });
const ev = (e: InventoryEvent): PlannedEvent => ({ event: e, sourceWrittenAt: 5_000 + e.data.metadata.sequenceNr });
const created = ev({ type: 'InventoryCreated', data: { metadata: md(1), inventoryId: 'A', productId: 'P', warehouseId: 'WH-TYO', zoneId: 'WH-TYO-AMBIENT', productStorageCondition: 'AMBIENT', zoneType: 'AMBIENT' } });
const received = (seq: number, quantity: number) => ev({ type: 'StockReceived', data: { metadata: md(seq), quantity, lotNumber: 'L', supplierId: null, expiryDate: null } });
const shipped = (seq: number, quantity: number) => ev({ type: 'StockShipped', data: { metadata: md(seq), quantity, orderId: 'O' } });
const reserved = (seq: number, quantity: number) => ev({ type: 'StockReserved', data: { metadata: md(seq), quantity, orderId: 'O', customerId: 'C' } });

describe('inventory projector plan (pure)', () => {
  it('given a new inventory, when a run of events arrives, then one row and one movement per event with before/after', () => {
    const plan = planInventory(new Map(), new Map([['inventory-A', [created, received(2, 10), reserved(3, 4), shipped(4, 4)]]]));
    const row = plan.rows.get('inventory-A')!;
    expect({ onHand: row.onHand, reserved: row.reserved, last: row.lastSequenceNr, source: row.lastSourceWrittenAt }).toEqual({ onHand: 6, reserved: 0, last: 4, source: 5_004 });
    expect(plan.movements.map((m) => [m.movementType, m.onHandBefore, m.onHandAfter, m.reservedBefore, m.reservedAfter])).toEqual([
      ['CREATED', 0, 0, 0, 0],
      ['RECEIPT', 0, 10, 0, 0],
      ['RESERVATION', 10, 10, 0, 4],
      ['SHIPMENT', 10, 6, 4, 0],
    ]);
  });

  it('an event breaking an invariant is rejected and what follows it is held for the journal', () => {
    const plan = planInventory(new Map(), new Map([['inventory-A', [created, shipped(2, 5), received(3, 1)]]]));
    expect(plan.rejected.map((r) => r.code)).toEqual(['INVARIANT_VIOLATION']);
    expect(plan.held).toEqual([received(3, 1)]);
    expect(plan.rows.get('inventory-A')!.lastSequenceNr).toBe(1);
  });

  it('does not modify the current rows it is given', () => {
    const first = planInventory(new Map(), new Map([['inventory-A', [created, received(2, 10)]]]));
    const current = new Map(first.rows);
    const snapshot = JSON.stringify([...current]);
    planInventory(current, new Map([['inventory-A', [received(3, 5)]]]));
    expect(JSON.stringify([...current])).toBe(snapshot);
  });
});
