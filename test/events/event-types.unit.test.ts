import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultSchemasDir, loadCatalog } from '../../src/events/catalog.js';
import { generateEventTypes } from '../../src/events/type-generator.js';

describe('generated event types', () => {
  it('are exactly what the schemas generate (run `npm run gen:types` after changing a schema)', () => {
    const generated = generateEventTypes(loadCatalog(defaultSchemasDir('inventory')));
    expect(readFileSync('src/events/generated/inventory.ts', 'utf8')).toBe(generated);
  });

  it('the catalog has every inventory event of the design, with consecutive versions', () => {
    const catalog = loadCatalog(defaultSchemasDir('inventory'));
    expect(catalog.eventTypes()).toEqual([
      'InventoryCreated',
      'StockAdjusted',
      'StockReceived',
      'StockReleased',
      'StockReserved',
      'StockShipped',
      'StorageConditionViolated',
      'ZoneTransferred',
    ]);
    for (const t of catalog.eventTypes()) {
      const versions = catalog.versions(t);
      expect(new Set(versions.map((v) => v.fullName)).size).toBe(1); // full name stable across versions
      expect(versions.map((v) => v.version)).toEqual(versions.map((_, i) => i + 1));
    }
  });
});
