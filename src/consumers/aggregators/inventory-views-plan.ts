import { stockDelta } from '../../command/inventory.js';
import type { InventoryEvent } from '../../events/generated/inventory.js';
import { isLate, type LatePolicy } from './daily-movements.js';
import type { ViewState, ViewStep } from './group-view.js';
import { planInventoryViews, type InventoryViewChanges } from './inventory-views.js';
import { alertTransition } from './low-stock-alerts.js';

/**
 * The pure core of the inventory-views aggregator: from the group's own
 * per-inventory state, the ready (contiguous, in-sequence) events of each
 * inventory, master data and the event-time watermark, it computes every
 * row change of one batch. It keeps the state, the invariants, lateness and
 * the alert transitions; each view of `inventoryViews` folds the applied
 * events into its own rows. No I/O; unit-tested without a database.
 *
 * Guarantees: applying a stream in one batch or cut into any consecutive
 * batches (state and watermark carried over) gives the same changes in sum —
 * events are folded one by one in stream order, and lateness is judged
 * against the watermark of the events before each one.
 */
export type { ViewState };

export interface PlanItem {
  event: InventoryEvent;
  /** Stream position of the item (or of the item that revealed it); lower first. */
  position: number;
}

export interface MasterData {
  products: ReadonlyMap<string, { category: string; storageCondition: string }>;
  /** low_stock_threshold per zone id. */
  thresholds: ReadonlyMap<string, number>;
}

export interface ViewPlanInput<T extends PlanItem> {
  states: ReadonlyMap<string, ViewState>;
  ready: ReadonlyMap<string, readonly T[]>;
  master: MasterData;
  watermark: number | null;
  graceMs: number;
  lateEvents: LatePolicy;
}

/** One batch's changes: every view's rows (by key of `inventoryViews`), the group's state, and the plan's decisions. */
export type ViewChanges<T> = InventoryViewChanges & PlanDecisions<T>;

export interface PlanDecisions<T> {
  /** New state of every inventory that changed. */
  states: Map<string, ViewState>;
  watermark: number | null;
  applied: T[];
  /** Late events (window closed); under 'dead-letter' they are also in `deadLetters`. */
  late: T[];
  /** Late events to dead-letter by policy: applied to stock, left out of their closed window. */
  deadLetters: T[];
  /** Events of an inventory whose InventoryCreated has not been seen: they wait. */
  notCreated: T[];
  /** Events breaking an invariant: dead-lettered; what follows them per id is `held`. */
  rejected: { item: T; code: string; message: string }[];
  held: T[];
}

export const UNKNOWN_CATEGORY = 'UNKNOWN';

/** Stream order across ids, sequence order within one: each run's positions made non-decreasing, then a stable sort. */
function streamOrder<T extends PlanItem>(ready: ReadonlyMap<string, readonly T[]>): { pid: string; item: T }[] {
  const out: { pid: string; item: T; key: number; run: number; idx: number }[] = [];
  let run = 0;
  for (const [pid, items] of ready) {
    let key = -Infinity;
    items.forEach((item, idx) => {
      key = Math.max(key, item.position);
      out.push({ pid, item, key, run, idx });
    });
    run++;
  }
  out.sort((a, b) => a.key - b.key || a.run - b.run || a.idx - b.idx);
  return out;
}

export function planViews<T extends PlanItem>(input: ViewPlanInput<T>): ViewChanges<T> {
  const { steps, ...decisions } = foldViews(input);
  return { ...decisions, ...planInventoryViews(steps) };
}

/** The group's decisions and the steps every view folds (see {@link planInventoryViews}); {@link planViews} is both. */
export function foldViews<T extends PlanItem>(input: ViewPlanInput<T>): PlanDecisions<T> & { steps: ViewStep[] } {
  const { master, graceMs, lateEvents } = input;
  const states = new Map<string, ViewState>();
  const steps: ViewStep[] = [];
  const out: Omit<PlanDecisions<T>, 'states' | 'watermark'> = {
    applied: [], late: [], deadLetters: [], notCreated: [], rejected: [], held: [],
  };
  // Ids whose run stopped (not created, rejected): the rest of their run waits.
  const stopped = new Map<string, 'notCreated' | 'held'>();
  let watermark = input.watermark;

  for (const { pid, item } of streamOrder(input.ready)) {
    const stop = stopped.get(pid);
    if (stop) {
      out[stop].push(item);
      continue;
    }
    const e = item.event;
    const md = e.data.metadata;
    let s = states.get(pid) ?? input.states.get(pid);
    let created = 0;
    if (e.type === 'InventoryCreated') {
      if (s) {
        out.rejected.push({ item, code: 'INVARIANT_ALREADY_CREATED', message: `${pid} already exists` });
        stopped.set(pid, 'held');
        continue;
      }
      const product = master.products.get(e.data.productId);
      s = {
        persistenceId: pid,
        inventoryId: e.data.inventoryId,
        productId: e.data.productId,
        warehouseId: e.data.warehouseId,
        zoneId: e.data.zoneId,
        category: product?.category ?? UNKNOWN_CATEGORY,
        storageCondition: product?.storageCondition ?? e.data.productStorageCondition,
        onHand: 0,
        reserved: 0,
        alertOpen: false,
        lastSequenceNr: 0,
      };
      created = 1;
    } else if (!s) {
      // Never attribute stock to a guessed inventory: wait for the creation (bounded by the caller).
      out.notCreated.push(item);
      stopped.set(pid, 'notCreated');
      continue;
    }
    const d = stockDelta(e);
    const onHand = s.onHand + d.onHand;
    const reserved = s.reserved + d.reserved;
    if (onHand < 0 || reserved < 0 || reserved > onHand) {
      // Same invariant as the projector, so both groups refuse the same events.
      out.rejected.push({
        item,
        code: 'INVARIANT_VIOLATION',
        message: `${e.type} seq ${md.sequenceNr} would make on hand ${onHand}, reserved ${reserved} for ${pid}`,
      });
      stopped.set(pid, 'held');
      continue;
    }
    const threshold = master.thresholds.get(s.zoneId) ?? null;
    const alert = alertTransition(s.alertOpen, onHand - reserved, threshold);
    const alertOpen = alert === null ? s.alertOpen : alert === 'open';

    const late = isLate(md.occurredAt, watermark, graceMs);
    const inWindow = !late || lateEvents === 'correct';
    if (late) {
      out.late.push(item);
      if (!inWindow) out.deadLetters.push(item);
    }
    watermark = watermark === null ? md.occurredAt : Math.max(watermark, md.occurredAt);

    const after = { ...s, onHand, reserved, alertOpen, lastSequenceNr: md.sequenceNr };
    states.set(pid, after);
    steps.push({ event: e, state: after, delta: { onHand: d.onHand, reserved: d.reserved, inventoryCount: created }, late, inWindow, alert, threshold });
    out.applied.push(item);
  }
  return { ...out, states, watermark, steps };
}

export interface PartitionedPlanInput<T extends PlanItem> extends Omit<ViewPlanInput<T>, 'ready' | 'watermark'> {
  /** The ready runs of each partition (its ids are its own), by partition key. */
  parts: ReadonlyMap<string, ReadonlyMap<string, readonly T[]>>;
  /** Each partition's watermark before the batch (absent: none yet). */
  watermarks: ReadonlyMap<string, number | null>;
}

/**
 * One batch spanning several partitions (the small batches of one fetch,
 * joined): each partition's ids fold on their own against that partition's
 * watermark — lateness is judged per partition, as if each had come alone —
 * and every view plans all the steps at once. Returns each partition's new
 * watermark instead of one.
 */
export function planViewsByPartition<T extends PlanItem>(input: PartitionedPlanInput<T>): Omit<ViewChanges<T>, 'watermark'> & { watermarks: Map<string, number | null> } {
  const out: Omit<PlanDecisions<T>, 'watermark'> = {
    states: new Map(), applied: [], late: [], deadLetters: [], notCreated: [], rejected: [], held: [],
  };
  const steps: ViewStep[] = [];
  const watermarks = new Map<string, number | null>();
  for (const [key, ready] of input.parts) {
    const f = foldViews({ ...input, ready, watermark: input.watermarks.get(key) ?? null });
    for (const [pid, st] of f.states) out.states.set(pid, st);
    out.applied.push(...f.applied);
    out.late.push(...f.late);
    out.deadLetters.push(...f.deadLetters);
    out.notCreated.push(...f.notCreated);
    out.rejected.push(...f.rejected);
    out.held.push(...f.held);
    steps.push(...f.steps);
    watermarks.set(key, f.watermark);
  }
  return { ...out, ...planInventoryViews(steps), watermarks };
}

