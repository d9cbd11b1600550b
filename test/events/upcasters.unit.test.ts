import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultSchemasDir, loadCatalog } from '../../src/events/catalog.js';
import { inventoryUpcasters } from '../../src/events/upcasters/index.js';

const catalog = loadCatalog(defaultSchemasDir('inventory'));
const metadata = { eventId: 'e', persistenceId: 'inventory-X', sequenceNr: 3, occurredAt: 1_700_000_000_000, correlationId: 'c', causationId: null };

describe('upcasters (pure)', () => {
  it('every upcaster turns a valid vN value into a valid vN+1 value', () => {
    for (const u of inventoryUpcasters) {
      const from = catalog.get(u.eventType, u.from).type;
      const to = catalog.get(u.eventType, u.from + 1).type;
      fc.assert(
        fc.property(fc.constant(null), () => {
          const sample = from.random() as unknown as Record<string, unknown>; // avsc types random() as returning a Type
          const out = u.up(sample);
          expect(to.isValid(out)).toBe(true);
        }),
        { numRuns: 200 },
      );
    }
  });

  it('StockShipped v1 → v2 converts cases to units', () => {
    const u = inventoryUpcasters.find((x) => x.eventType === 'StockShipped')!;
    expect(u.up({ metadata, quantityCases: 3, unitsPerCase: 12, orderId: 'O-1' })).toEqual({ metadata, quantity: 36, orderId: 'O-1' });
  });

  it('StockAdjusted v1 → v2 renames the delta and maps reason codes, unknown codes to UNKNOWN', () => {
    const u = inventoryUpcasters.find((x) => x.eventType === 'StockAdjusted')!;
    expect(u.up({ metadata, amount: -2, reasonCode: 2 })).toEqual({ metadata, quantityDelta: -2, reason: 'DAMAGE', note: null });
    expect(u.up({ metadata, amount: 5, reasonCode: 99 })).toMatchObject({ reason: 'UNKNOWN' });
  });

  it('a version step without an upcaster is one Avro resolution can do alone', () => {
    const withUpcaster = new Set(inventoryUpcasters.map((u) => `${u.eventType}@${u.from}`));
    for (const t of catalog.eventTypes()) {
      const vs = catalog.versions(t);
      for (let i = 0; i + 1 < vs.length; i++) {
        if (withUpcaster.has(`${t}@${vs[i]!.version}`)) continue;
        expect(() => vs[i + 1]!.type.createResolver(vs[i]!.type)).not.toThrow();
      }
    }
  });
});
