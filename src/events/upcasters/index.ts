import { stockAdjustedV1toV2 } from './stock-adjusted-v1-v2.js';
import { stockShippedV1toV2 } from './stock-shipped-v1-v2.js';
import type { Upcaster } from './upcaster.js';

export type { Upcaster } from './upcaster.js';

/** Every upcaster of the inventory events, one per semantic version step. */
export const inventoryUpcasters: readonly Upcaster[] = [stockShippedV1toV2, stockAdjustedV1toV2];
