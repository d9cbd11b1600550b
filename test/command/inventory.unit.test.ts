import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { available, decide, evolve, initialState, type InventoryCommand, type InventoryState } from '../../src/command/inventory.js';
import { DomainError } from '../../src/shared/errors.js';

const created = (productStorageCondition: 'AMBIENT' | 'CHILLED' | 'FROZEN' = 'AMBIENT', zoneType = productStorageCondition): InventoryState =>
  evolve(initialState('inventory-A'), {
    type: 'InventoryCreated',
    data: { inventoryId: 'A', productId: 'P-1', warehouseId: 'WH-TYO', zoneId: `WH-TYO-${zoneType}`, productStorageCondition, zoneType },
  });

const run = (s: InventoryState, c: InventoryCommand) => decide(s, c).reduce((acc, e) => evolve(acc, e), s);

describe('Inventory aggregate (pure)', () => {
  it('never lets on hand, reserved or available go negative, whatever the commands', () => {
    const command = fc.oneof(
      fc.record({ kind: fc.constant('receive' as const), quantity: fc.integer({ min: -5, max: 50 }), lotNumber: fc.constant('L'), supplierId: fc.constant(null), expiryDate: fc.constant(null) }),
      fc.record({ kind: fc.constant('reserve' as const), quantity: fc.integer({ min: -5, max: 50 }), orderId: fc.constant('O'), customerId: fc.constant('C') }),
      fc.record({ kind: fc.constant('release' as const), quantity: fc.integer({ min: -5, max: 50 }), orderId: fc.constant('O'), reason: fc.constant('r') }),
      fc.record({ kind: fc.constant('ship' as const), quantity: fc.integer({ min: -5, max: 50 }), orderId: fc.constant('O') }),
      fc.record({ kind: fc.constant('adjust' as const), delta: fc.integer({ min: -50, max: 50 }), reason: fc.constant('DAMAGE' as const), note: fc.constant(null) }),
    );
    fc.assert(
      fc.property(fc.array(command, { maxLength: 60 }), (commands) => {
        let s = created();
        for (const c of commands) {
          try {
            s = run(s, c);
          } catch (err) {
            expect(err).toBeInstanceOf(DomainError);
          }
          expect(s.onHand).toBeGreaterThanOrEqual(0);
          expect(s.reserved).toBeGreaterThanOrEqual(0);
          expect(available(s)).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a reservation above available stock', () => {
    const s = run(created(), { kind: 'receive', quantity: 10, lotNumber: 'L', supplierId: null, expiryDate: null });
    expect(() => decide(s, { kind: 'reserve', quantity: 11, orderId: 'O', customerId: 'C' })).toThrow(/only 10 available/);
  });

  it('records a receipt into a zone of the wrong type as StorageConditionViolated, without stock', () => {
    const s = created('FROZEN', 'AMBIENT');
    const events = decide(s, { kind: 'receive', quantity: 5, lotNumber: 'L', supplierId: null, expiryDate: null });
    expect(events.map((e) => e.type)).toEqual(['StorageConditionViolated']);
    expect(run(s, { kind: 'receive', quantity: 5, lotNumber: 'L', supplierId: null, expiryDate: null }).onHand).toBe(0);
  });

  it('ships only reserved stock and reduces both on hand and reserved', () => {
    let s = run(created(), { kind: 'receive', quantity: 10, lotNumber: 'L', supplierId: null, expiryDate: null });
    s = run(s, { kind: 'reserve', quantity: 4, orderId: 'O', customerId: 'C' });
    expect(() => decide(s, { kind: 'ship', quantity: 5, orderId: 'O' })).toThrow(DomainError);
    s = run(s, { kind: 'ship', quantity: 4, orderId: 'O' });
    expect({ onHand: s.onHand, reserved: s.reserved }).toEqual({ onHand: 6, reserved: 0 });
  });

  it('cannot be created twice nor used before creation', () => {
    expect(() => decide(initialState('inventory-B'), { kind: 'ship', quantity: 1, orderId: 'O' })).toThrow(/does not exist/);
    expect(() =>
      decide(created(), { kind: 'create', inventoryId: 'A', productId: 'P', warehouseId: 'W', zoneId: 'Z', productStorageCondition: 'AMBIENT', zoneType: 'AMBIENT' }),
    ).toThrow(/already exists/);
  });
});
