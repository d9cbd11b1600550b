import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DAY_MS, isLate } from '../../../src/consumers/aggregators/daily-movements.js';
import { planViews } from '../../../src/consumers/aggregators/inventory-views-plan.js';
import type { InventoryEvent } from '../../../src/events/generated/inventory.js';
import { planWorkload, workloadEvents } from '../../helpers/inventory-workload.js';
import { emptyModel, lookup, masterData, reference, runBatches, stockOf, withoutZeros } from './view-model.js';

const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const events = workloadEvents(planWorkload({ master: masterData, inventories: 40, operations: 400, seed: 11, startTime: T0, spanMs: 3 * DAY_MS }));

const ev = (pid: string, seq: number, occurredAt: number, body: Record<string, unknown> & { type: InventoryEvent['type'] }): InventoryEvent => {
  const { type, ...data } = body;
  return { type, data: { ...data, metadata: { eventId: `${pid}#${seq}`, persistenceId: pid, sequenceNr: seq, occurredAt, correlationId: 'c', causationId: null } } } as InventoryEvent;
};
const created = (pid: string, t: number, zoneType: 'AMBIENT' | 'CHILLED' = 'AMBIENT') =>
  ev(pid, 1, t, { type: 'InventoryCreated', inventoryId: pid, productId: masterData.products.find((p) => p.storageCondition === zoneType)!.productId, warehouseId: 'WH-TYO', zoneId: `WH-TYO-${zoneType}`, productStorageCondition: zoneType, zoneType });
const received = (pid: string, seq: number, t: number, quantity: number) =>
  ev(pid, seq, t, { type: 'StockReceived', quantity, lotNumber: 'L', supplierId: null, expiryDate: null });
const reserved = (pid: string, seq: number, t: number, quantity: number) => ev(pid, seq, t, { type: 'StockReserved', quantity, orderId: 'O', customerId: 'C' });
const shipped = (pid: string, seq: number, t: number, quantity: number) => ev(pid, seq, t, { type: 'StockShipped', quantity, orderId: 'O' });

describe('inventory views plan (pure core)', () => {
  it('the workload covers every event type', () => {
    expect(new Set(events.map((e) => e.type))).toEqual(
      new Set(['InventoryCreated', 'StockReceived', 'StockReserved', 'StockReleased', 'StockShipped', 'StockAdjusted', 'ZoneTransferred', 'StorageConditionViolated']),
    );
  });

  it('equals the GROUP BY over the final states and events', () => {
    const db = runBatches(emptyModel(), [events]);
    const ref = reference(events);
    expect(stockOf(db.states)).toEqual(ref.states);
    expect(withoutZeros(db.zone)).toEqual(withoutZeros(ref.zone));
    expect(withoutZeros(db.category)).toEqual(withoutZeros(ref.category));
    expect(new Map([...db.daily].map(([k, v]) => [k, { eventCount: v.eventCount, quantity: v.quantity }]))).toEqual(ref.daily);
    expect(db.alerts.filter((a) => a.closedAt === null).map((a) => a.persistenceId).sort()).toEqual(ref.openAlerts);
    expect(db.states.size).toBe(new Set(events.map((e) => e.data.metadata.persistenceId)).size);
  });

  it('property: applying the stream split any way, with redeliveries and late event times, gives the same views', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: events.length - 1 }), { maxLength: 12 }),
        fc.array(fc.tuple(fc.nat(events.length - 1), fc.nat(events.length - 1)), { maxLength: 30 }),
        fc.array(fc.tuple(fc.nat(events.length - 1), fc.integer({ min: 1, max: 4 })), { maxLength: 20 }),
        (cuts, redeliveries, shifts) => {
          // Some events happened days earlier than their neighbours: they arrive late.
          const stream = events.map((e) => e);
          for (const [i, days] of shifts) {
            const e = stream[i]!;
            stream[i] = { ...e, data: { ...e.data, metadata: { ...e.data.metadata, occurredAt: e.data.metadata.occurredAt - days * DAY_MS } } } as InventoryEvent;
          }
          // A redelivery repeats an event after its first delivery.
          const delivered = stream.map((e) => [e]);
          for (const [from, to] of redeliveries) delivered[Math.max(from, to)]!.push(stream[Math.min(from, to)]!);
          const flat = delivered.flat();
          const whole = runBatches(emptyModel(), [flat]);
          const bounds = [0, ...[...cuts].sort((a, b) => a - b).map((c) => Math.min(c, flat.length)), flat.length];
          const split = runBatches(emptyModel(), bounds.slice(1).map((b, i) => flat.slice(bounds[i], b)));
          expect(withoutZeros(split.zone)).toEqual(withoutZeros(whole.zone));
          expect(withoutZeros(split.category)).toEqual(withoutZeros(whole.category));
          expect(withoutZeros(split.daily)).toEqual(withoutZeros(whole.daily));
          expect(split.alerts).toEqual(whole.alerts);
          expect(split.states).toEqual(whole.states);
          expect(split.watermark).toBe(whole.watermark);
          expect(split.lateEventIds).toEqual(whole.lateEventIds);
          // And both equal the reference from scratch.
          const ref = reference(stream);
          expect(stockOf(split.states)).toEqual(ref.states);
          expect(withoutZeros(split.zone)).toEqual(withoutZeros(ref.zone));
          expect(withoutZeros(split.category)).toEqual(withoutZeros(ref.category));
        },
      ),
      { numRuns: 60 },
    );
    // ~2 s alone; generous for a machine busy with the servers of the int suites.
  }, 60_000);

  it('judges lateness against the watermark of the events before, with the grace period', () => {
    const day = Date.UTC(2026, 10, 20);
    expect(isLate(day + 1000, null, 3_600_000)).toBe(false);
    expect(isLate(day + 1000, day + DAY_MS + 3_599_999, 3_600_000)).toBe(false);
    expect(isLate(day + 1000, day + DAY_MS + 3_600_000, 3_600_000)).toBe(true);

    const stream = [
      created('inventory-A', day + 1000), received('inventory-A', 2, day + DAY_MS + 2 * 3_600_000, 50),
      received('inventory-A', 3, day + 5000, 10), // window of `day` closed at day end + 1 h: late
      received('inventory-A', 4, day + DAY_MS + 10, 5), // on time
    ];
    for (const policy of ['correct', 'dead-letter'] as const) {
      const db = runBatches(emptyModel(), [stream], 3_600_000, policy);
      const receipt = db.daily.get(`${day}|WH-TYO|WH-TYO-AMBIENT|RECEIPT`)!;
      expect(db.lateEventIds).toEqual(['inventory-A#3']);
      expect(receipt.lateCount).toBe(1);
      // Stock is not windowed: the late receipt counts either way.
      expect(db.states.get('inventory-A')!.onHand).toBe(65);
      if (policy === 'correct') {
        expect(receipt).toEqual({ eventCount: 1, quantity: 10, lateCount: 1 });
        expect(db.deadLettered).toEqual([]);
      } else {
        expect(receipt).toEqual({ eventCount: 0, quantity: 0, lateCount: 1 });
        expect(db.deadLettered).toEqual(['inventory-A#3']);
      }
    }
    // With a longer grace the same event is on time.
    expect(runBatches(emptyModel(), [stream], 3 * 3_600_000).lateEventIds).toEqual([]);
  });

  it('holds events of an inventory never created, and applies them once the creation arrives', () => {
    const db = runBatches(emptyModel(), [[received('inventory-B', 1, T0, 5)]]);
    expect(db.states.size).toBe(0);
    expect(db.waiting).toEqual(['inventory-B#1']);
    const plan = planViews({
      states: new Map(), ready: new Map([['inventory-B', [{ event: received('inventory-B', 2, T0, 5), position: 0 }]]]),
      master: lookup, watermark: null, graceMs: 0, lateEvents: 'correct',
    });
    expect(plan.notCreated).toHaveLength(1);
    expect(plan.applied).toHaveLength(0);
    const ok = runBatches(emptyModel(), [[created('inventory-B', T0), received('inventory-B', 2, T0, 5)]]);
    expect(ok.states.get('inventory-B')!.onHand).toBe(5);
  });

  it('keeps alert episodes opened and closed inside one batch', () => {
    const pid = 'inventory-C';
    const db = runBatches(emptyModel(), [[
      created(pid, T0), received(pid, 2, T0 + 1, 100), reserved(pid, 3, T0 + 2, 90), shipped(pid, 4, T0 + 3, 90), received(pid, 5, T0 + 4, 50),
    ]]);
    // Threshold 30 (ambient): open at creation (0), close at 100, open at 10 available, close at 60.
    expect(db.alerts.map((a) => [a.availableAtOpen, a.openedAt - T0, a.availableAtClose, a.closedAt === null ? null : a.closedAt - T0])).toEqual([
      [0, 0, 100, 1],
      [10, 2, 60, 4],
    ]);
    // Across batches: opened in one (still open at its end), closed by a later one.
    runBatches(db, [[reserved(pid, 6, T0 + 5, 40)], [received(pid, 7, T0 + 6, 30)]]);
    expect(db.alerts).toHaveLength(3);
    expect(db.alerts[2]).toMatchObject({ availableAtOpen: 20, openedAt: T0 + 5, availableAtClose: 50, closedAt: T0 + 6 });
  });

  it('rejects an event breaking an invariant and holds what follows it', () => {
    const pid = 'inventory-D';
    const plan = planViews({
      states: new Map(),
      ready: new Map([[pid, [created(pid, T0), shipped(pid, 2, T0, 5), received(pid, 3, T0, 5)].map((event, position) => ({ event, position }))]]),
      master: lookup, watermark: null, graceMs: 0, lateEvents: 'correct',
    });
    expect(plan.applied).toHaveLength(1);
    expect(plan.rejected.map((r) => r.code)).toEqual(['INVARIANT_VIOLATION']);
    expect(plan.held).toHaveLength(1);
  });

  it('attributes an unknown product to category UNKNOWN with the condition the event states', () => {
    const e = ev('inventory-E', 1, T0, { type: 'InventoryCreated', inventoryId: 'E', productId: 'P-999999', warehouseId: 'WH-OSA', zoneId: 'WH-OSA-FROZEN', productStorageCondition: 'FROZEN', zoneType: 'FROZEN' });
    const plan = planViews({ states: new Map(), ready: new Map([['inventory-E', [{ event: e, position: 0 }]]]), master: lookup, watermark: null, graceMs: 0, lateEvents: 'correct' });
    expect(plan.stockByCategory).toEqual([{ key: ['UNKNOWN', 'FROZEN'], onHand: 0, reserved: 0, inventoryCount: 1 }]);
  });
});
