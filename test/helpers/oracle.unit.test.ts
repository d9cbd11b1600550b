import { describe, expect, it } from 'vitest';
import { decodeJournalEvent, describedVersions, encodePayload, foldJournal, oracleOfJournal, schemaVersions, type RawJournalEvent } from './oracle.js';

/**
 * The oracle itself, on literal inputs with hand-computed answers: if these
 * numbers are right, every test comparing the product against the oracle
 * compares it against them.
 */
const PID = 'inventory-LIT-1';
let seq = 0;
const raw = (eventType: string, version: number, fields: Record<string, unknown>): RawJournalEvent => {
  seq++;
  const metadata = { eventId: `e-${seq}`, persistenceId: PID, sequenceNr: seq, occurredAt: Date.UTC(2026, 0, 5, 12) + seq, correlationId: 'c-1', causationId: null };
  return { persistenceId: PID, sequenceNr: seq, eventType, schemaVersion: version, payload: encodePayload(eventType, version, { metadata, ...fields }) };
};

// A history written by three generations of the write side (real Avro bytes of each version).
const history: RawJournalEvent[] = [
  raw('InventoryCreated', 1, { inventoryId: 'LIT-1', productId: 'P-000001', warehouseId: 'WH-TYO', zoneId: 'WH-TYO-AMBIENT', productStorageCondition: 'AMBIENT', zoneType: 'AMBIENT' }),
  raw('StockReceived', 1, { quantity: 100, lotNumber: 'L1' }), //                         on hand 100, reserved 0
  raw('StockReserved', 1, { quantity: 30, orderId: 'O-1', customerId: 'C-0001' }), //     100, 30
  raw('StockShipped', 1, { quantityCases: 2, unitsPerCase: 12, orderId: 'O-1' }), //      2 cases of 12 = 24 units: 76, 6
  raw('StockReleased', 1, { quantity: 6, orderId: 'O-1', reason: 'cancelled' }), //      76, 0
  raw('StockAdjusted', 1, { amount: -3, reasonCode: 2 }), //                              73, 0 (DAMAGE)
  raw('StockReceived', 2, { quantity: 10, lotNumber: 'L2', supplierId: 'S-1', expiryDate: 20_500 }), // 83, 0
  raw('StockReserved', 1, { quantity: 20, orderId: 'O-2', customerId: 'C-0002' }), //     83, 20
  raw('StockShipped', 2, { quantity: 5, orderId: 'O-2' }), //                             78, 15
  raw('StockAdjusted', 2, { quantityDelta: 4, reason: 'FOUND', note: 'shelf 3' }), //     82, 15
  raw('ZoneTransferred', 1, { quantity: 7, direction: 'OUT', transferId: 'T-1', fromZoneId: 'WH-TYO-AMBIENT', toZoneId: 'WH-TYO-CHILLED', counterpartInventoryId: 'LIT-2' }), // 75, 15
  raw('ZoneTransferred', 1, { quantity: 2, direction: 'IN', transferId: 'T-2', fromZoneId: 'WH-TYO-FROZEN', toZoneId: 'WH-TYO-AMBIENT', counterpartInventoryId: 'LIT-3' }), // 77, 15
  raw('StorageConditionViolated', 1, { attemptedQuantity: 9, attemptedMovement: 'RECEIPT', productStorageCondition: 'AMBIENT', zoneType: 'AMBIENT' }), // 77, 15
  raw('StockAdjusted', 1, { amount: 1, reasonCode: 42 }), //                              78, 15 (an unknown code: UNKNOWN)
];

describe('the inventory oracle (literal cases)', () => {
  it('describes exactly the event types and versions that have a schema file', () => {
    expect(describedVersions()).toEqual(schemaVersions());
  });

  it('folds a mixed-version history to the stock computed by hand', () => {
    const inv = foldJournal(history).get(PID)!;
    expect(inv).toEqual({
      persistenceId: PID, inventoryId: 'LIT-1', productId: 'P-000001', warehouseId: 'WH-TYO', zoneId: 'WH-TYO-AMBIENT',
      productStorageCondition: 'AMBIENT', zoneType: 'AMBIENT', onHand: 78, reserved: 15, violations: 1, sequenceNr: 14,
    });
  });

  it('records each movement with the type, quantity and stock before and after written out here', () => {
    const { movements } = oracleOfJournal(history);
    expect(movements.map((m) => [m.sequenceNr, m.effect.movementType, m.effect.quantity, m.onHandBefore, m.onHandAfter, m.reservedBefore, m.reservedAfter])).toEqual([
      [1, 'CREATED', 0, 0, 0, 0, 0],
      [2, 'RECEIPT', 100, 0, 100, 0, 0],
      [3, 'RESERVATION', 30, 100, 100, 0, 30],
      [4, 'SHIPMENT', 24, 100, 76, 30, 6],
      [5, 'RELEASE', 6, 76, 76, 6, 0],
      [6, 'ADJUSTMENT', -3, 76, 73, 0, 0],
      [7, 'RECEIPT', 10, 73, 83, 0, 0],
      [8, 'RESERVATION', 20, 83, 83, 0, 20],
      [9, 'SHIPMENT', 5, 83, 78, 20, 15],
      [10, 'ADJUSTMENT', 4, 78, 82, 15, 15],
      [11, 'TRANSFER_OUT', 7, 82, 75, 15, 15],
      [12, 'TRANSFER_IN', 2, 75, 77, 15, 15],
      [13, 'VIOLATION', 9, 77, 77, 15, 15],
      [14, 'ADJUSTMENT', 1, 77, 78, 15, 15],
    ]);
  });

  it('brings v1 payloads to the latest shape: cases to units, amount and reason code to delta and enum, new fields null', () => {
    const latest = (i: number) => decodeJournalEvent(history[i]!).effect.latest;
    expect(latest(1)).toEqual({ quantity: 100, lotNumber: 'L1', supplierId: null, expiryDate: null });
    expect(latest(3)).toEqual({ quantity: 24, orderId: 'O-1' });
    expect(latest(5)).toEqual({ quantityDelta: -3, reason: 'DAMAGE', note: null });
    expect(latest(13)).toEqual({ quantityDelta: 1, reason: 'UNKNOWN', note: null });
    expect(latest(6)).toEqual({ quantity: 10, lotNumber: 'L2', supplierId: 'S-1', expiryDate: 20_500 });
  });

  it('refuses a journal with a gap, and a version it has no rule for', () => {
    expect(() => foldJournal([history[0]!, history[2]!])).toThrow(/inventory-LIT-1 has a gap before seq 3/);
    expect(() => decodeJournalEvent({ ...history[1]!, schemaVersion: 7 })).toThrow();
  });
});
