import type { AdjustmentReason } from '../events/generated/inventory.js';
import type { NewEvent } from './inventory.js';
import type { JournalEvent } from './journal.js';

const REASON_CODES: Record<AdjustmentReason, number> = {
  COUNT_CORRECTION: 1,
  DAMAGE: 2,
  LOSS: 3,
  FOUND: 4,
  EXPIRY: 5,
  UNKNOWN: 0,
};

/**
 * Writes an event the way an older build of the write side did (a lower
 * schema version), so that the journal holds real old bytes and every
 * consumer's upcasting is exercised. Events without an older shape, or whose
 * value has none (shipments not in whole cases), are written at the latest.
 */
export function asLegacy(e: NewEvent): JournalEvent {
  switch (e.type) {
    case 'StockShipped': {
      const perCase = [12, 6, 4, 2].find((n) => e.data.quantity % n === 0) ?? 1;
      return { type: e.type, version: 1, data: { quantityCases: e.data.quantity / perCase, unitsPerCase: perCase, orderId: e.data.orderId } };
    }
    case 'StockAdjusted':
      if (e.data.note !== null) break; // v1 had no note: it would be lost
      return { type: e.type, version: 1, data: { amount: e.data.quantityDelta, reasonCode: REASON_CODES[e.data.reason] } };
    case 'StockReceived':
      if (e.data.supplierId !== null || e.data.expiryDate !== null) break;
      return { type: e.type, version: 1, data: { quantity: e.data.quantity, lotNumber: e.data.lotNumber } };
    default:
      break;
  }
  return asLatest(e);
}

export function asLatest(e: NewEvent): JournalEvent {
  return { type: e.type, data: e.data as unknown as Record<string, unknown> };
}
