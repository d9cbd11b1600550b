import { randomUUID } from 'node:crypto';
import { decide, evolve, initialState, persistenceIdOf, type InventoryCommand, type InventoryState, type NewEvent } from '../../src/command/inventory.js';
import type { Journal, JournalRecord } from '../../src/command/journal.js';
import type { MasterData } from '../../src/command/master-data.js';
import type { InventoryEvent } from '../../src/events/generated/inventory.js';
import { DomainError } from '../../src/shared/errors.js';
import { createRandom } from '../../src/shared/random.js';

/**
 * A realistic inventory workload over real master data, decided by the real
 * aggregate: every product in the zone of its warehouse that matches its
 * storage condition, across all warehouses; one inventory in ten mis-stored
 * in a zone of the wrong type (receipts there become StorageConditionViolated;
 * goods found there are moved by ZoneTransferred OUT/IN to the right zone,
 * both sides appended together). Pure planning: the same options give the
 * same steps; `writeWorkload` appends them to a journal, `workloadEvents`
 * gives them as events for unit tests.
 */
export interface WorkloadAppend {
  persistenceId: string;
  expectedSequenceNr: number;
  events: NewEvent[];
  occurredAt: number;
  correlationId: string;
}
/** Appends that go to the journal together (a zone transfer touches two inventories). */
export type WorkloadStep = WorkloadAppend[];

export interface WorkloadOptions {
  master: MasterData;
  inventories: number;
  /** Operations after the creations. */
  operations: number;
  seed?: number;
  prefix?: string;
  /** Event time of the first step; later steps spread evenly over `spanMs`. */
  startTime?: number;
  spanMs?: number;
  /** Offset into the product list, so two workloads can use disjoint products. */
  productOffset?: number;
}

export function planWorkload(o: WorkloadOptions): WorkloadStep[] {
  const { master, inventories, operations, seed = 7, prefix = 'W', startTime = Date.now() - 3 * 86_400_000, spanMs = 3 * 86_400_000, productOffset = 0 } = o;
  const rng = createRandom(seed);
  const states = new Map<string, InventoryState>();
  const misStored: { pid: string; counterpart: string }[] = [];
  const pending: Omit<WorkloadAppend, 'occurredAt'>[][] = [];
  const create = (inventoryId: string, productIdx: number, warehouseId: string, zoneType: 'AMBIENT' | 'CHILLED' | 'FROZEN') => {
    const p = master.products[productIdx % master.products.length]!;
    const pid = persistenceIdOf(inventoryId);
    const cmd: InventoryCommand = {
      kind: 'create', inventoryId, productId: p.productId, warehouseId, zoneId: `${warehouseId}-${zoneType}`,
      productStorageCondition: p.storageCondition, zoneType,
    };
    const events = decide(initialState(pid), cmd);
    states.set(pid, events.reduce((s, e) => evolve(s, e), initialState(pid)));
    pending.push([{ persistenceId: pid, expectedSequenceNr: 0, events, correlationId: randomUUID() }]);
    return pid;
  };
  for (let i = 0; i < inventories; i++) {
    const productIdx = productOffset + i;
    const p = master.products[productIdx % master.products.length]!;
    const warehouseId = master.warehouses[i % master.warehouses.length]!.warehouseId;
    const pid = create(`${prefix}-${String(i).padStart(6, '0')}`, productIdx, warehouseId, p.storageCondition);
    if (i % 10 === 9) {
      const wrong = p.storageCondition === 'AMBIENT' ? 'CHILLED' : 'AMBIENT';
      misStored.push({ pid: create(`${prefix}-${String(i).padStart(6, '0')}-X`, productIdx, warehouseId, wrong), counterpart: pid });
    }
  }
  const pids = [...states.keys()];
  const apply = (pid: string, cmd: InventoryCommand): Omit<WorkloadAppend, 'occurredAt'> | undefined => {
    const s = states.get(pid)!;
    try {
      const events = decide(s, cmd);
      states.set(pid, events.reduce((x, e) => evolve(x, e), s));
      return { persistenceId: pid, expectedSequenceNr: s.sequenceNr, events, correlationId: randomUUID() };
    } catch (err) {
      if (err instanceof DomainError) return undefined;
      throw err;
    }
  };
  for (let k = 0; pending.length < pids.length + operations && k < operations * 4; k++) {
    const kind = rng.weighted([['receive', 35], ['reserve', 25], ['release', 5], ['ship', 15], ['adjust', 8], ['transfer', 12]] as const);
    if (kind === 'transfer' && misStored.length > 0) {
      const m = rng.pick(misStored);
      const found = apply(m.pid, { kind: 'adjust', delta: rng.int(5, 40), reason: 'FOUND', note: 'found in the wrong zone' });
      if (found) pending.push([found]);
      const src = states.get(m.pid)!;
      const dst = states.get(m.counterpart)!;
      const q = src.onHand - src.reserved;
      if (q <= 0) continue;
      const transferId = randomUUID();
      const out = apply(m.pid, { kind: 'transferOut', quantity: q, transferId, toZoneId: dst.zoneId, counterpartInventoryId: dst.inventoryId });
      const inn = apply(m.counterpart, { kind: 'transferIn', quantity: q, transferId, fromZoneId: src.zoneId, counterpartInventoryId: src.inventoryId });
      if (out && inn) pending.push([out, { ...inn, correlationId: out.correlationId }]);
      continue;
    }
    const pid = rng.pick(pids);
    const s = states.get(pid)!;
    const q = rng.int(1, 60);
    const cmd: InventoryCommand =
      kind === 'receive' ? { kind, quantity: rng.int(10, 120), lotNumber: `L${k}`, supplierId: 'S-001', expiryDate: null }
      : kind === 'reserve' ? { kind, quantity: Math.min(q, Math.max(1, s.onHand - s.reserved)), orderId: `O-${k}`, customerId: 'C-0001' }
      : kind === 'release' ? { kind, quantity: Math.min(q, Math.max(1, s.reserved)), orderId: `O-${k}`, reason: 'cancelled' }
      : kind === 'ship' ? { kind, quantity: Math.min(q, Math.max(1, s.reserved)), orderId: `O-${k}` }
      : { kind: 'adjust', delta: rng.next() < 0.5 ? -Math.min(q, Math.max(1, s.onHand - s.reserved)) : q, reason: 'COUNT_CORRECTION', note: null };
    const a = apply(pid, cmd);
    if (a) pending.push([a]);
  }
  const step = pending.length > 1 ? spanMs / (pending.length - 1) : 0;
  return pending.map((appends, i) => appends.map((a) => ({ ...a, occurredAt: Math.round(startTime + i * step) })));
}

/** The steps as the events a consumer would see (metadata filled in like the journal does). */
export function workloadEvents(steps: WorkloadStep[]): InventoryEvent[] {
  return steps.flatMap((step) =>
    step.flatMap((a) =>
      a.events.map((e, i) => ({
        type: e.type,
        data: {
          ...e.data,
          metadata: {
            eventId: `${a.persistenceId}#${a.expectedSequenceNr + 1 + i}`,
            persistenceId: a.persistenceId,
            sequenceNr: a.expectedSequenceNr + 1 + i,
            occurredAt: a.occurredAt,
            correlationId: a.correlationId,
            causationId: null,
          },
        },
      }) as InventoryEvent),
    ),
  );
}

/**
 * Appends the steps in order. Consecutive steps go together in one journal
 * transaction of at most `eventsPerAppend` events (DynamoDB Local takes
 * ~100 ms a request on a busy machine; one request per step would make
 * setup take minutes). Same journal content as one append per step.
 */
export async function writeWorkload(journal: Journal, steps: WorkloadStep[], eventsPerAppend = 100): Promise<JournalRecord[]> {
  const out: JournalRecord[] = [];
  let chunk: WorkloadAppend[] = [];
  let size = 0;
  const flush = async () => {
    if (chunk.length === 0) return;
    out.push(
      ...(await journal.appendAll(
        chunk.map((a) => ({
          persistenceId: a.persistenceId,
          expectedSequenceNr: a.expectedSequenceNr,
          events: a.events.map((e) => ({ type: e.type, data: e.data as Record<string, unknown> })),
          occurredAt: a.occurredAt,
          correlationId: a.correlationId,
        })),
      )),
    );
    chunk = [];
    size = 0;
  };
  for (const step of steps) {
    const n = step.reduce((s, a) => s + a.events.length, 0);
    if (size + n > eventsPerAppend) await flush();
    chunk.push(...step);
    size += n;
  }
  await flush();
  return out;
}
