import { planSequence } from '../../../src/consumers/sequence-gate.js';
import { planViews, type MasterData, type PlanItem, type ViewChanges, type ViewState } from '../../../src/consumers/aggregators/inventory-views-plan.js';
import type { LatePolicy } from '../../../src/consumers/aggregators/daily-movements.js';
import type { AlertRow } from '../../../src/consumers/aggregators/low-stock-alerts.js';
import type { InventoryEvent } from '../../../src/events/generated/inventory.js';
import { generateMasterData } from '../../../src/command/master-data.js';
import { foldEvents, oracleEventOfLatest, type OracleEvent } from '../../helpers/oracle.js';

/**
 * An in-memory stand-in for the view tables, applying the pure core's
 * changes the way the SQL does — so unit tests can compare a batched run
 * with a reference computed from the final states.
 */
export interface ViewModel {
  states: Map<string, ViewState>;
  zone: Map<string, { onHand: number; reserved: number; inventoryCount: number }>;
  category: Map<string, { onHand: number; reserved: number; inventoryCount: number }>;
  daily: Map<string, { eventCount: number; quantity: number; lateCount: number }>;
  alerts: AlertRow[];
  watermark: number | null;
  lateEventIds: string[];
  deadLettered: string[];
  waiting: string[];
}

export const emptyModel = (): ViewModel => ({
  states: new Map(), zone: new Map(), category: new Map(), daily: new Map(), alerts: [], watermark: null,
  lateEventIds: [], deadLettered: [], waiting: [],
});

const master = generateMasterData({ products: 400, customers: 10 });
export const masterData = master;
export const lookup: MasterData = {
  products: new Map(master.products.map((p) => [p.productId, { category: p.category, storageCondition: p.storageCondition }])),
  thresholds: new Map(master.zones.map((z) => [z.zoneId, z.lowStockThreshold])),
};

function add<V extends Record<string, number>>(m: Map<string, V>, key: string, d: V) {
  const cur = m.get(key);
  if (!cur) {
    m.set(key, { ...d });
    return;
  }
  for (const k of Object.keys(d) as (keyof V)[]) (cur[k] as number) += d[k] as number;
}

export function applyChanges<T extends PlanItem>(db: ViewModel, c: ViewChanges<T>) {
  for (const [pid, s] of c.states) db.states.set(pid, s);
  for (const d of c.stockByZone) add(db.zone, d.key.join('|'), { onHand: d.onHand, reserved: d.reserved, inventoryCount: d.inventoryCount });
  for (const d of c.stockByCategory) add(db.category, d.key.join('|'), { onHand: d.onHand, reserved: d.reserved, inventoryCount: d.inventoryCount });
  for (const d of c.daily) add(db.daily, `${d.day}|${d.warehouseId}|${d.zoneId}|${d.movementType}`, { eventCount: d.eventCount, quantity: d.quantity, lateCount: d.lateCount });
  for (const x of c.alerts.closes) {
    const open = db.alerts.filter((a) => a.persistenceId === x.persistenceId && a.closedAt === null);
    if (open.length !== 1) throw new Error(`closing ${x.persistenceId}: ${open.length} open alerts`);
    open[0]!.closedAt = x.closedAt;
    open[0]!.availableAtClose = x.availableAtClose;
  }
  for (const r of c.alerts.inserts) {
    if (r.closedAt === null && db.alerts.some((a) => a.persistenceId === r.persistenceId && a.closedAt === null)) {
      throw new Error(`second open alert for ${r.persistenceId}`);
    }
    db.alerts.push({ ...r });
  }
  db.watermark = c.watermark;
  const id = (t: T) => t.event.data.metadata.eventId;
  db.lateEventIds.push(...c.late.map(id));
  db.deadLettered.push(...c.deadLetters.map(id));
  db.waiting = c.notCreated.map(id);
}

/** Runs a stream through the gate and the planner in the given consecutive batches. */
export function runBatches(db: ViewModel, batches: InventoryEvent[][], graceMs = 3_600_000, lateEvents: LatePolicy = 'correct') {
  for (const batch of batches) {
    const items = batch.map((event, position) => ({
      event, position, persistenceId: event.data.metadata.persistenceId, sequenceNr: event.data.metadata.sequenceNr,
    }));
    const last = new Map([...db.states].map(([p, s]) => [p, s.lastSequenceNr]));
    const gate = planSequence(last, items);
    applyChanges(db, planViews({ states: db.states, ready: gate.ready, master: lookup, watermark: db.watermark, graceMs, lateEvents }));
  }
  return db;
}

const DAY_MS = 86_400_000;

/**
 * What the views must hold, computed from the events alone by the oracle
 * (test/helpers/oracle.ts: stock effects and movement types written out in the
 * test, no code from src/), the GROUP BY the int tests run in SQL.
 */
export function reference(events: InventoryEvent[]) {
  return referenceOf(events.map(oracleEventOfLatest));
}

/** The same from the oracle's own reading of events (e.g. decoded from raw journal bytes of any version). */
export function referenceOf(events: OracleEvent[]) {
  const { inventories, movements } = foldEvents(events);
  const zone = new Map<string, { onHand: number; reserved: number; inventoryCount: number }>();
  const category = new Map<string, { onHand: number; reserved: number; inventoryCount: number }>();
  const states = new Map<string, { onHand: number; reserved: number; lastSequenceNr: number }>();
  for (const s of inventories.values()) {
    const product = lookup.products.get(s.productId);
    add(zone, `${s.warehouseId}|${s.zoneId}`, { onHand: s.onHand, reserved: s.reserved, inventoryCount: 1 });
    add(category, `${product?.category ?? 'UNKNOWN'}|${product?.storageCondition ?? s.productStorageCondition}`, { onHand: s.onHand, reserved: s.reserved, inventoryCount: 1 });
    states.set(s.persistenceId, { onHand: s.onHand, reserved: s.reserved, lastSequenceNr: s.sequenceNr });
  }
  const daily = new Map<string, { eventCount: number; quantity: number }>();
  for (const m of movements) {
    const day = Math.floor(m.occurredAt / DAY_MS) * DAY_MS;
    add(daily, `${day}|${m.warehouseId}|${m.zoneId}|${m.effect.movementType}`, { eventCount: 1, quantity: m.effect.quantity });
  }
  const openAlerts = [...inventories.values()]
    .filter((s) => s.onHand - s.reserved < lookup.thresholds.get(s.zoneId)!)
    .map((s) => s.persistenceId)
    .sort();
  return { zone, category, daily, openAlerts, states };
}

/** The planner's per-inventory states in the reference's shape. */
export const stockOf = (states: Map<string, ViewState>) =>
  new Map([...states].map(([pid, s]) => [pid, { onHand: s.onHand, reserved: s.reserved, lastSequenceNr: s.lastSequenceNr }]));

export const withoutZeros = <V extends Record<string, number>>(m: Map<string, V>) =>
  new Map([...m].filter(([, v]) => Object.values(v).some((x) => x !== 0)));
