import type { AdjustmentReason, StockAdjustedV1, StockAdjustedV2 } from '../generated/inventory.js';
import { defineUpcaster } from './upcaster.js';

const REASONS: Record<number, AdjustmentReason> = {
  1: 'COUNT_CORRECTION',
  2: 'DAMAGE',
  3: 'LOSS',
  4: 'FOUND',
  5: 'EXPIRY',
};

/** v1 named the delta `amount` and coded the reason as a number; v2 renames and uses an enum. */
export const stockAdjustedV1toV2 = defineUpcaster<StockAdjustedV1, StockAdjustedV2>({
  eventType: 'StockAdjusted',
  from: 1,
  reason: 'renamed field (amount → quantityDelta) and a code whose meaning becomes an enum',
  up: (e) => ({
    metadata: e.metadata,
    quantityDelta: e.amount,
    reason: REASONS[e.reasonCode] ?? 'UNKNOWN',
    note: null,
  }),
});
