import type { StockShippedV1, StockShippedV2 } from '../generated/inventory.js';
import { defineUpcaster } from './upcaster.js';

/** v1 counted shipped cases; v2 counts units. quantity = cases × units per case. */
export const stockShippedV1toV2 = defineUpcaster<StockShippedV1, StockShippedV2>({
  eventType: 'StockShipped',
  from: 1,
  reason: 'unit change: cases → units (Avro resolution would leave quantity at its default 0)',
  up: (e) => ({
    metadata: e.metadata,
    quantity: e.quantityCases * e.unitsPerCase,
    orderId: e.orderId,
  }),
});
