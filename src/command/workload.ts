import { randomUUID } from 'node:crypto';
import { ConcurrencyError, DomainError, isRetriable } from '../shared/errors.js';
import { createRandom, type Random } from '../shared/random.js';
import { backoffDelay, retry, sleep } from '../shared/retry.js';
import type { InventoryEvent } from '../events/generated/inventory.js';
import { available, decide, evolve, initialState, persistenceIdOf, type InventoryCommand, type InventoryState, type NewEvent } from './inventory.js';
import type { AppendRequest, Journal, JournalRecord } from './journal.js';
import { asLatest, asLegacy } from './legacy-versions.js';
import type { MasterData, Product, Zone } from './master-data.js';
import type { VersionLadder } from '../events/upcast.js';

/**
 * The load generator of the command side: it drives inventory aggregates
 * through the real aggregate rules and the journal writer (conditional
 * appends), with a realistic movement mix.
 *
 * Profiles: `business-day` — about 2,000 movements per simulated day with a
 * daytime peak, the day compressed into `dayMs` of wall time (event time runs
 * on the simulated clock, so daily windows fill); `peak` — a sustained burst
 * (×10 the business-day rate); `flat` — the given rate, event time = now.
 * Runs are repeatable for a seed (same commands in the same order per worker).
 *
 * Longer than ~300 lines on purpose: the pacing, the per-worker command
 * streams and the conflict retries share one closure over the seeded state;
 * cut apart, the repeatability for a seed would depend on call order across
 * modules.
 */
export type WorkloadProfile = 'business-day' | 'peak' | 'flat';

export interface WorkloadOptions {
  journal: Journal;
  /** Decodes journal payloads when an aggregate must be reloaded after a lost race. */
  ladder: VersionLadder;
  master: Pick<MasterData, 'products' | 'zones'>;
  seed?: number;
  profile?: WorkloadProfile;
  /** Events per second; 0 = flat out. For business-day/peak, derived from dayMs unless set. */
  rate?: number;
  /** Stop after this many appended events (movements, creations included). */
  count?: number;
  /** Stop after this long (ms). */
  durationMs?: number;
  /** Inventory aggregates to create and drive. */
  inventories?: number;
  /** Share of events written at an older schema version (upcasting downstream). */
  legacyShare?: number;
  /** Share of inventories placed in a zone whose type does not match the product (violations). */
  violationShare?: number;
  /** Share of commands issued twice concurrently from the same state (one loses, is retried). */
  conflictShare?: number;
  /** Wall-clock length of one simulated business day. */
  dayMs?: number;
  concurrency?: number;
  /** Prefix of inventory ids, so runs into one journal do not collide. */
  idPrefix?: string;
  startTime?: number;
  onProgress?: (p: WorkloadProgress) => void;
  onAppend?: (records: JournalRecord[]) => void;
  signal?: AbortSignal;
}

export interface WorkloadProgress {
  events: number;
  commands: number;
  conflictsRetried: number;
  rejected: number;
  elapsedMs: number;
  target?: number;
}

export interface WorkloadSummary extends WorkloadProgress {
  ratePerSecond: number;
  inventories: number;
  legacyEvents: number;
  violations: number;
  byType: Record<string, number>;
}

const MOVEMENTS_PER_DAY = 2000;

export async function runWorkload(options: WorkloadOptions): Promise<WorkloadSummary> {
  const {
    journal,
    master,
    seed = 1,
    profile = 'business-day',
    inventories = 500,
    legacyShare = 0.1,
    violationShare = 0.02,
    conflictShare = 0.01,
    dayMs = 60_000,
    concurrency = 8,
    idPrefix = `W${seed}`,
    startTime = Date.now(),
  } = options;
  const rate =
    options.rate ?? (profile === 'flat' ? 0 : (MOVEMENTS_PER_DAY / dayMs) * 1000 * (profile === 'peak' ? 10 : 1));
  if (options.count === undefined && options.durationMs === undefined) throw new Error('workload needs a count or a duration');
  const rnd = createRandom(seed);
  const zonesByType = new Map<string, Zone[]>();
  for (const z of master.zones) zonesByType.set(z.zoneType, [...(zonesByType.get(z.zoneType) ?? []), z]);

  // The inventory set: product × a zone of its warehouse, normally of the matching type.
  const states: InventoryState[] = [];
  const plan: { cmd: Extract<InventoryCommand, { kind: 'create' }>; product: Product }[] = [];
  const used = new Set<string>();
  const partner = new Map<number, number>();
  while (plan.length < inventories) {
    const product = rnd.pick(master.products);
    const mismatch = rnd.next() < violationShare;
    const zoneType = mismatch ? rnd.pick(['AMBIENT', 'CHILLED', 'FROZEN'].filter((t) => t !== product.storageCondition)) : product.storageCondition;
    const zone = rnd.pick(zonesByType.get(zoneType) ?? master.zones);
    const key = `${product.productId}/${zone.zoneId}`;
    if (used.has(key)) continue;
    used.add(key);
    const inventoryId = `${idPrefix}-${String(plan.length + 1).padStart(6, '0')}`;
    plan.push({
      product,
      cmd: { kind: 'create', inventoryId, productId: product.productId, warehouseId: zone.warehouseId, zoneId: zone.zoneId, productStorageCondition: product.storageCondition, zoneType: zone.zoneType },
    });
    states.push(initialState(persistenceIdOf(inventoryId)));
    // One product in three also gets a twin inventory in a zone of the same type in
    // another warehouse: the pair moves stock between zones (ZoneTransferred OUT + IN).
    if (!mismatch && plan.length < inventories && rnd.next() < 0.33) {
      const other = (zonesByType.get(zoneType) ?? []).filter((z) => z.warehouseId !== zone.warehouseId);
      if (other.length > 0) {
        const z2 = rnd.pick(other);
        const key2 = `${product.productId}/${z2.zoneId}`;
        if (!used.has(key2)) {
          used.add(key2);
          const id2 = `${idPrefix}-${String(plan.length + 1).padStart(6, '0')}`;
          partner.set(plan.length - 1, plan.length);
          partner.set(plan.length, plan.length - 1);
          plan.push({ product, cmd: { kind: 'create', inventoryId: id2, productId: product.productId, warehouseId: z2.warehouseId, zoneId: z2.zoneId, productStorageCondition: product.storageCondition, zoneType: z2.zoneType } });
          states.push(initialState(persistenceIdOf(id2)));
        }
      }
    }
  }
  // A pair is driven by one worker, so its two appends never race each other.
  const owner = (i: number) => Math.min(i, partner.get(i) ?? i) % concurrency;

  const t0 = Date.now();
  const stats = { events: 0, commands: 0, conflictsRetried: 0, rejected: 0, legacyEvents: 0, violations: 0 };
  const byType: Record<string, number> = {};
  let lastProgress = 0;
  const dayLength = 86_400_000;
  /** Simulated event time: the business day is compressed into dayMs of wall time. */
  const eventTime = () =>
    profile === 'flat' ? Date.now() : startTime + Math.floor(((Date.now() - t0) * dayLength) / dayMs);
  const done = () =>
    options.signal?.aborted === true ||
    (options.count !== undefined && stats.events >= options.count) ||
    (options.durationMs !== undefined && Date.now() - t0 >= options.durationMs);

  // Pacing: a shared schedule so that N workers together offer `rate` events/s.
  let nextSlot = Date.now();
  async function pace() {
    if (rate <= 0) return;
    let interval = 1000 / rate;
    if (profile === 'business-day') {
      // Daytime peak: more movements between 9:00 and 17:00 of the simulated day.
      const hour = new Date(eventTime()).getUTCHours();
      interval *= hour >= 9 && hour < 17 ? 0.6 : 1.8;
    }
    const slot = nextSlot;
    nextSlot = Math.max(nextSlot + interval, Date.now() - 1000);
    const wait = slot - Date.now();
    if (wait > 0) await sleep(wait, options.signal);
  }

  async function append(req: AppendRequest[], events: NewEvent[][]) {
    const records = await journal.appendAll(req);
    stats.events += records.length;
    for (const evs of events) for (const e of evs) {
      byType[e.type] = (byType[e.type] ?? 0) + 1;
      if (e.type === 'StorageConditionViolated') stats.violations++;
    }
    options.onAppend?.(records);
    const now = Date.now();
    if (options.onProgress && now - lastProgress > 250) {
      lastProgress = now;
      options.onProgress({ ...stats, elapsedMs: now - t0, ...(options.count ? { target: options.count } : {}) });
    }
  }

  function toJournal(events: NewEvent[], r: Random) {
    return events.map((e) => {
      if (r.next() < legacyShare) {
        const j = asLegacy(e);
        if (j.version !== undefined) stats.legacyEvents++;
        return j;
      }
      return asLatest(e);
    });
  }

  /** Decides and appends one command; on a lost race, reloads from the journal and decides again. */
  async function execute(index: number, command: (s: InventoryState, r: Random) => InventoryCommand | undefined, r: Random) {
    for (let attempt = 0; attempt < 10; attempt++) {
      const state = states[index]!;
      const cmd = command(state, r);
      if (!cmd) return;
      let events: NewEvent[];
      try {
        events = decide(state, cmd);
      } catch (err) {
        if (err instanceof DomainError) {
          stats.rejected++;
          return;
        }
        throw err;
      }
      const correlationId = randomUUID();
      const req = { persistenceId: state.persistenceId, expectedSequenceNr: state.sequenceNr, events: toJournal(events, r), correlationId, occurredAt: eventTime() };
      try {
        if (attempt === 0 && r.next() < conflictShare) {
          // Two command handlers racing on one aggregate: exactly one append can win.
          const twin = { ...req, events: req.events, correlationId: randomUUID() };
          const [a, b] = await Promise.allSettled([append([req], [events]), append([twin], [events])]);
          const lost = [a, b].filter((x) => x.status === 'rejected');
          if (lost.length !== 1 || !((lost[0] as PromiseRejectedResult).reason instanceof ConcurrencyError)) {
            if (lost.length > 0) throw (lost[0] as PromiseRejectedResult).reason;
          }
          stats.conflictsRetried++;
          states[index] = events.reduce((s, e) => evolve(s, e), state);
          stats.commands++;
          return;
        }
        await append([req], [events]);
        states[index] = events.reduce((s, e) => evolve(s, e), state);
        stats.commands++;
        return;
      } catch (err) {
        if (err instanceof ConcurrencyError) {
          stats.conflictsRetried++;
          states[index] = await reload(state.persistenceId);
          continue;
        }
        if (isRetriable(err)) {
          // The journal is unavailable (throttled, restarting): wait, then decide again from what it holds.
          await sleep(backoffDelay(attempt, 200, 5_000) + 100, options.signal);
          states[index] = await reload(state.persistenceId);
          continue;
        }
        throw err;
      }
    }
  }

  async function reload(pid: string): Promise<InventoryState> {
    const records = await retry(() => journal.load(pid), { attempts: 15, initialDelayMs: 200, maxDelayMs: 5_000, signal: options.signal });
    return records.reduce(
      (s, rec) => evolve(s, options.ladder.decodeRaw<InventoryEvent>(rec.eventType, rec.schemaVersion, rec.payload)),
      initialState(pid),
    );
  }

  /** Both sides of a zone transfer in one atomic append (TransactWriteItems across two aggregates). */
  async function transfer(from: number, to: number, r: Random) {
    const a = states[from]!;
    const b = states[to]!;
    if (!a.created || !b.created || available(a) <= 0) return;
    const quantity = r.int(1, Math.min(24, available(a)));
    const transferId = randomUUID();
    try {
      const inEvents = decide(b, { kind: 'transferIn', quantity, transferId, fromZoneId: a.zoneId, counterpartInventoryId: a.inventoryId });
      // A destination that refuses (storage condition) records the violation; the source keeps its stock.
      const outEvents = inEvents[0]?.type === 'ZoneTransferred'
        ? decide(a, { kind: 'transferOut', quantity, transferId, toZoneId: b.zoneId, counterpartInventoryId: b.inventoryId })
        : [];
      const correlationId = randomUUID();
      const occurredAt = eventTime();
      const reqs = [
        ...(outEvents.length ? [{ persistenceId: a.persistenceId, expectedSequenceNr: a.sequenceNr, events: outEvents.map(asLatest), correlationId, occurredAt }] : []),
        { persistenceId: b.persistenceId, expectedSequenceNr: b.sequenceNr, events: inEvents.map(asLatest), correlationId, occurredAt },
      ];
      await append(reqs, [outEvents, inEvents]);
      states[from] = outEvents.reduce((s, e) => evolve(s, e), a);
      states[to] = inEvents.reduce((s, e) => evolve(s, e), b);
      stats.commands++;
    } catch (err) {
      if (err instanceof DomainError) stats.rejected++;
      else if (err instanceof ConcurrencyError || isRetriable(err)) {
        stats.conflictsRetried++;
        states[from] = await reload(a.persistenceId);
        states[to] = await reload(b.persistenceId);
      } else throw err;
    }
  }

  async function worker(w: number) {
    const r = createRandom(seed * 1_000 + w + 1);
    const mine = states.map((_, i) => i).filter((i) => owner(i) === w);
    if (mine.length === 0) return; // more writers than owners of inventories: this one has none
    for (const i of mine) {
      if (done()) return;
      await pace();
      await execute(i, () => plan[i]!.cmd, r);
    }
    const orders = new Map<number, { orderId: string; quantity: number }[]>();
    while (!done()) {
      await pace();
      const i = r.pick(mine);
      const j = partner.get(i);
      if (j !== undefined && r.next() < 0.08) await transfer(i, j, r);
      else await execute(i, (s, rr) => nextCommand(s, rr, orders, i), r);
    }
  }

  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, inventories)) }, (_, w) => worker(w)));
  const elapsedMs = Date.now() - t0;
  return { ...stats, elapsedMs, ratePerSecond: stats.events / Math.max(0.001, elapsedMs / 1000), inventories, byType };
}

/** The movement mix: receipts keep stock up, reservations follow orders, most reservations ship. */
function nextCommand(
  s: InventoryState,
  r: Random,
  orders: Map<number, { orderId: string; quantity: number }[]>,
  index: number,
): InventoryCommand | undefined {
  const open = orders.get(index) ?? [];
  const roll = r.next();
  if (s.onHand < 50 || roll < 0.3) {
    return { kind: 'receive', quantity: r.int(12, 240), lotNumber: `LOT-${r.int(100000, 999999)}`, supplierId: r.next() < 0.5 ? `SUP-${r.int(1, 40)}` : null, expiryDate: null };
  }
  if (roll < 0.55 && available(s) > 0) {
    const quantity = Math.min(available(s), r.int(1, 48));
    const orderId = `ORD-${r.int(1, 9_999_999)}`;
    orders.set(index, [...open, { orderId, quantity }]);
    return { kind: 'reserve', quantity, orderId, customerId: `C-${String(r.int(1, 430)).padStart(4, '0')}` };
  }
  if (roll < 0.8 && open.length > 0) {
    const o = open.shift()!;
    orders.set(index, open);
    if (o.quantity > s.reserved) return undefined;
    return { kind: 'ship', quantity: o.quantity, orderId: o.orderId };
  }
  if (roll < 0.88 && open.length > 0) {
    const o = open.shift()!;
    orders.set(index, open);
    if (o.quantity > s.reserved) return undefined;
    return { kind: 'release', quantity: o.quantity, orderId: o.orderId, reason: r.pick(['ORDER_CANCELLED', 'CUSTOMER_CHANGED', 'TIMEOUT']) };
  }
  if (roll < 0.95) {
    const delta = r.next() < 0.7 ? -r.int(1, Math.max(1, Math.min(5, s.onHand - s.reserved))) : r.int(1, 5);
    if (s.onHand + delta < s.reserved || delta === 0) return undefined;
    return { kind: 'adjust', delta, reason: delta < 0 ? r.pick(['DAMAGE', 'LOSS', 'EXPIRY', 'COUNT_CORRECTION'] as const) : 'FOUND', note: null };
  }
  // Small top-up receipts; in a zone of the wrong type the aggregate records a violation instead.
  return { kind: 'receive', quantity: r.int(1, 24), lotNumber: `LOT-${r.int(100000, 999999)}`, supplierId: null, expiryDate: null };
}
