import type { Registry } from 'prom-client';
import type { JournalReader } from '../source-journal.js';
import type { InventoryEvent } from '../../events/generated/inventory.js';
import type { EventSerde } from '../../events/serde.js';
import { PipelineError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { Pool } from '../../db/db.js';
import type { DeadLetterQueue } from '../dead-letter.js';
import type { ConsumerHandler } from '../handler.js';
import { isInventoryEvent, latestVersions } from '../inventory-stream.js';
import { createOrderedHandler, type Candidate, type Decisions, type OrderedView } from '../ordered-handler.js';
import { aggregatorMetrics } from './aggregator-metrics.js';
import type { LatePolicy } from './daily-movements.js';
import { writeInventoryViews } from './inventory-views.js';
import { planViewsByPartition, type ViewChanges, type ViewState } from './inventory-views-plan.js';
import type { Partition } from '../parking-store.js';
import { liveViewTables, publishedViews, type ViewTables } from './view-tables.js';
import * as store from './view-store.js';

export const INVENTORY_VIEWS_GROUP = 'inventory-views';

export interface InventoryViewsAggregatorOptions {
  journal: JournalReader;
  serde: EventSerde<InventoryEvent>;
  pool: Pool;
  logger: Logger;
  /** Where `aggregator_late_events_total` is registered; none → not exported. */
  metrics?: Registry;
  groupId?: string;
  /** Shadow tables for a rebuild (see view-tables.ts). */
  tables?: ViewTables;
  /** How long after its UTC day ends a daily window still takes events, against the watermark. */
  graceMs?: number;
  /** What happens to an event for a closed window (it is counted in late_count either way). */
  lateEvents?: LatePolicy;
  /** How long events of an inventory whose InventoryCreated was never seen wait before going to the DLQ. */
  notCreatedWaitMs?: number;
  gapAttempts?: number;
  gapDelayMs?: number;
  /** Lets maintain() dead-letter outside a batch; without it such events wait for the next batch. */
  deadLetterQueue?: DeadLetterQueue;
  onParkedChange?: (parkedIds: number) => void;
}

/** The group's state of a batch's ids, and the watermark of each of its partitions (locked), by partitionKey. */
interface Loaded {
  states: Map<string, ViewState>;
  watermarks: Map<string, number | null>;
}
/** The plan's changes, late events to dead-letter given as verdicts for the core, and each partition's new watermark. */
type Planned = Omit<ViewChanges<Candidate<InventoryEvent>>, 'deadLetters' | 'watermark'> &
  Decisions<Candidate<InventoryEvent>> & { watermarks: { part: Partition; watermark: number | null }[] };

/**
 * The `inventory-views` aggregator: the views of `inventoryViews` (stock by
 * warehouse × zone and by category × storage condition, zone utilisation (a
 * SQL view), low-stock alerts, daily movements, ...), all maintained by
 * deltas inside the runner's transaction, so
 * view rows, the group's own state and the consumed offsets commit together
 * (exactly-once effect).
 *
 * It keeps its own per-inventory state (mapping learnt from InventoryCreated,
 * stock, last sequence number) and does not read the projector's tables.
 * Per inventory, events apply in sequence order on the ordered-handler core
 * (ordered-handler.ts): duplicates are skipped, a gap is filled from the
 * journal or parked until it can be; events of an inventory whose creation
 * was never seen wait (parked) up to `notCreatedWaitMs`, then go to the DLQ
 * with code INVENTORY_NOT_CREATED. An event whose daily window has
 * closed (its partition's watermark — newest event time applied from that
 * partition — is past the window's UTC day end + `graceMs`) is counted as
 * late (`late_count`, `aggregator_late_events_total`) and, by `lateEvents`,
 * corrects the window or is dead-lettered with code LATE_EVENT (its stock
 * change still applies: the stock views are not windowed, and leaving it out
 * would make them disagree with the journal forever).
 *
 * Transactions of the group take their locks in one order — partition
 * watermark, per-id advisory locks, parked rows, then view rows table by
 * table (in the order of `inventoryViews`) in key order — so concurrent partitions and maintain() never
 * deadlock; they do queue on the few hot stock rows, which bounds scale-out
 * by batch size rather than by instances.
 */
export function createInventoryViewsAggregator(options: InventoryViewsAggregatorOptions): ConsumerHandler<InventoryEvent> {
  const {
    logger,
    groupId = INVENTORY_VIEWS_GROUP,
    tables = liveViewTables,
    graceMs = 3_600_000,
    lateEvents = 'correct',
    notCreatedWaitMs = 60_000,
  } = options;
  if (!Number.isFinite(graceMs) || graceMs < 0) throw new PipelineError('CONFIG', `graceMs must be >= 0, got ${graceMs}`);
  if (lateEvents !== 'correct' && lateEvents !== 'dead-letter') throw new PipelineError('CONFIG', `unknown late-event policy ${String(lateEvents)}`);
  const lateCounter = options.metrics ? aggregatorMetrics(options.metrics).lateEvents : undefined;

  const view: OrderedView<InventoryEvent, Loaded, Planned> = {
    views: publishedViews(tables),
    canHandle: isInventoryEvent,
    /** The partitions' watermarks first (in partition order), then the ids: every transaction of the group takes its locks in this order. */
    async load(tx, pids, parts) {
      const watermarks = await store.lockWatermarks(tx, groupId, parts);
      const states = await store.loadStates(tx, tables.state, pids);
      return { last: new Map([...states].map(([pid, st]) => [pid, st.lastSequenceNr])), state: { states, watermarks } };
    },
    async plan(tx, s, ready, partOf) {
      const productIds = [...ready.values()].flat().flatMap((c) => (c.event.type === 'InventoryCreated' ? [c.event.data.productId] : []));
      const master = await store.loadMaster(tx, productIds);
      // Lateness is judged per partition, against that partition's watermark: each partition's ids fold on their own.
      const parts = new Map<string, Map<string, Candidate<InventoryEvent>[]>>();
      const partByKey = new Map<string, Partition>();
      for (const [pid, run] of ready) {
        const part = partOf(pid);
        const key = store.partitionKey(part);
        partByKey.set(key, part);
        parts.set(key, (parts.get(key) ?? new Map<string, Candidate<InventoryEvent>[]>()).set(pid, run));
      }
      const { deadLetters, watermarks, ...plan } = planViewsByPartition({ states: s.states, parts, master, watermarks: s.watermarks, graceMs, lateEvents });
      const deadLettered = deadLetters.map((c) => {
        const day = new Date(c.event.data.metadata.occurredAt).toISOString().slice(0, 10);
        return { item: c, code: 'LATE_EVENT', message: `${c.event.type} seq ${c.sequenceNr} of ${c.persistenceId}: window ${day} closed (grace ${graceMs} ms); stock applied, window not corrected` };
      });
      return { ...plan, deadLettered, watermarks: [...watermarks].map(([key, watermark]) => ({ part: partByKey.get(key)!, watermark })) };
    },
    async write(tx, plan) {
      if (plan.late.length > 0) {
        lateCounter?.inc({ group: groupId, policy: lateEvents }, plan.late.length);
        logger.info({ late: plan.late.length, policy: lateEvents }, 'late events for closed windows');
      }
      // The group's own rows first (the ids' states, under their advisory locks, and the partition's watermark,
      // locked in load): no other partition waits on them. Then the view rows every partition shares, in a
      // fixed table order (and key order within each), so concurrent transactions cannot deadlock and hold
      // those hot rows only for the view writes, the freshness rows and the commit.
      await store.saveStates(tx, tables.state, plan.states.values());
      await store.saveWatermarks(tx, groupId, plan.watermarks);
      await writeInventoryViews(tx, tables, plan);
    },
  };
  return createOrderedHandler({
    ...options,
    groupId,
    latestVersions,
    view,
    notCreated: { stateTable: tables.state, waitMs: notCreatedWaitMs, code: 'INVENTORY_NOT_CREATED', creation: 'InventoryCreated' },
  });
}
