import { describe, expect, it } from 'vitest';
import { planViews, type MasterData, type PlanItem, type ViewChanges, type ViewState } from '../../../src/consumers/aggregators/inventory-views-plan.js';
import type { InventoryEvent } from '../../../src/events/generated/inventory.js';

const DAY1 = Date.UTC(2026, 0, 10);
const DAY2 = Date.UTC(2026, 0, 11);
const H = 3_600_000;
const master: MasterData = {
  products: new Map([
    ['P-000001', { category: 'FOOD', storageCondition: 'CHILLED' }],
    ['P-000002', { category: 'DAILY_GOODS', storageCondition: 'AMBIENT' }],
  ]),
  thresholds: new Map(),
};

const ev = (pid: string, seq: number, occurredAt: number, body: Record<string, unknown> & { type: InventoryEvent['type'] }): InventoryEvent => {
  const { type, ...data } = body;
  return { type, data: { ...data, metadata: { eventId: `${pid}#${seq}`, persistenceId: pid, sequenceNr: seq, occurredAt, correlationId: 'c', causationId: null } } } as InventoryEvent;
};
const created = (pid: string, productId: string, t: number) =>
  ev(pid, 1, t, { type: 'InventoryCreated', inventoryId: pid, productId, warehouseId: 'WH-TYO', zoneId: 'WH-TYO-CHILLED', productStorageCondition: 'CHILLED', zoneType: 'CHILLED' });
const received = (pid: string, seq: number, t: number, quantity: number) =>
  ev(pid, seq, t, { type: 'StockReceived', quantity, lotNumber: 'L', supplierId: null, expiryDate: null });
const reserved = (pid: string, seq: number, t: number, quantity: number) => ev(pid, seq, t, { type: 'StockReserved', quantity, orderId: 'O', customerId: 'C' });
const released = (pid: string, seq: number, t: number, quantity: number) => ev(pid, seq, t, { type: 'StockReleased', quantity, orderId: 'O', reason: 'CANCELLED' });
const shipped = (pid: string, seq: number, t: number, quantity: number) => ev(pid, seq, t, { type: 'StockShipped', quantity, orderId: 'O' });

/** The view's rows after the stream, cut into the given batches (state and watermark carried over), summed as the table sums them. */
function rows(batches: InventoryEvent[][], lateEvents: 'correct' | 'dead-letter' = 'correct') {
  let states = new Map<string, ViewState>();
  let watermark: number | null = null;
  const table = new Map<string, { onHand: number; reserved: number; inventoryCount: number }>();
  for (const batch of batches) {
    const ready = new Map<string, { event: InventoryEvent; position: number }[]>();
    batch.forEach((event, position) => {
      const pid = event.data.metadata.persistenceId;
      ready.set(pid, [...(ready.get(pid) ?? []), { event, position }]);
    });
    const plan: ViewChanges<PlanItem> = planViews({ states, ready, master, watermark, graceMs: H, lateEvents });
    states = new Map([...states, ...plan.states]);
    watermark = plan.watermark;
    for (const d of plan.stockByCategoryDaily) {
      const key = `${d.category}|${d.storageCondition}|${new Date(d.day).toISOString().slice(0, 10)}`;
      const cur = table.get(key) ?? { onHand: 0, reserved: 0, inventoryCount: 0 };
      table.set(key, { onHand: cur.onHand + d.onHand, reserved: cur.reserved + d.reserved, inventoryCount: cur.inventoryCount + d.inventoryCount });
    }
  }
  return Object.fromEntries([...table].sort(([a], [b]) => a.localeCompare(b)));
}

describe('stock by category over time (plan)', () => {
  const stream = [
    created('inventory-A', 'P-000001', DAY1 + 1 * H),
    received('inventory-A', 2, DAY1 + 2 * H, 50),
    reserved('inventory-A', 3, DAY1 + 3 * H, 10),
    created('inventory-B', 'P-000002', DAY1 + 4 * H),
    received('inventory-B', 2, DAY1 + 5 * H, 7),
    shipped('inventory-A', 4, DAY2 + 1 * H, 10),
    received('inventory-A', 5, DAY2 + 2 * H, 3),
  ];

  it('sums each day’s stock change per category × storage condition, by event time', () => {
    expect(rows([stream])).toEqual({
      'DAILY_GOODS|AMBIENT|2026-01-10': { onHand: 7, reserved: 0, inventoryCount: 1 },
      'FOOD|CHILLED|2026-01-10': { onHand: 50, reserved: 10, inventoryCount: 1 },
      'FOOD|CHILLED|2026-01-11': { onHand: -7, reserved: -10, inventoryCount: 0 },
    });
  });

  it('gives the same rows however the stream is cut into batches', () => {
    expect(rows([stream.slice(0, 2), stream.slice(2, 5), stream.slice(5)])).toEqual(rows([stream]));
    expect(rows(stream.map((e) => [e]))).toEqual(rows([stream]));
  });

  it('counts a late event in its own day under either late-event policy (stock is not windowed)', () => {
    // After day 2's events the watermark is past day 1's end + 1 h: a receipt that happened on day 1 is late.
    const late = [...stream, received('inventory-A', 6, DAY1 + 6 * H, 4)];
    for (const policy of ['correct', 'dead-letter'] as const) {
      expect(rows([late], policy)['FOOD|CHILLED|2026-01-10']).toEqual({ onHand: 54, reserved: 10, inventoryCount: 1 });
    }
  });

  it('leaves out a day whose changes cancel out (a reservation released the same day)', () => {
    const cancelled = [created('inventory-C', 'P-000001', DAY1), received('inventory-C', 2, DAY1 + H, 5), reserved('inventory-C', 3, DAY2, 2), released('inventory-C', 4, DAY2 + H, 2)];
    expect(rows([cancelled])).toEqual({ 'FOOD|CHILLED|2026-01-10': { onHand: 5, reserved: 0, inventoryCount: 1 } });
  });
});
