import type { Registry } from 'prom-client';
import type { Journal } from '../../command/journal.js';
import { latestVersions, type InventoryEvent } from '../../events/generated/inventory.js';
import type { EventSerde } from '../../events/serde.js';
import { errorCode, errorMessage, PipelineError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { withTransaction, type Pool, type PoolClient } from '../../views/db.js';
import type { DeadLetterQueue } from '../dead-letter.js';
import { deadLetterOf } from '../record-decoder.js';
import { emptyOutcome, recordAppliedTimes, type ConsumedEvent, type ConsumerHandler, type HandlerOutcome, type Rejection } from '../handler.js';
import { gateWithRepair, type Sequenced } from '../sequence-gate.js';
import { aggregatorMetrics } from './aggregator-metrics.js';
import { applyDailyMovements, type LatePolicy } from './daily-movements.js';
import { planViews, type PlanItem } from './inventory-views-plan.js';
import { applyAlerts } from './low-stock-alerts.js';
import { applyStockDeltas } from './stock-views.js';
import { liveViewTables, publishedViews, type ViewTables } from './view-tables.js';
import * as store from './view-store.js';

export const INVENTORY_VIEWS_GROUP = 'inventory-views';

export interface InventoryViewsAggregatorOptions {
  journal: Journal;
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

/** A candidate event: from the topic, from the journal (gap repair) or parked earlier. */
interface Candidate extends Sequenced, PlanItem {
  sourceWrittenAt: number | undefined;
  consumed?: ConsumedEvent<InventoryEvent>;
  origin: 'topic' | 'journal' | 'parked';
  /** Kafka position to name in the DLQ (for journal events: the event that revealed the gap). */
  source: store.Origin | undefined;
}

const originOf = (c: ConsumedEvent<InventoryEvent>): store.Origin => ({
  topic: c.topic, partition: c.partition, offset: c.offset, key: c.key, headers: c.headers,
});

/**
 * The `inventory-views` aggregator: stock by warehouse × zone and by category
 * × storage condition, zone utilisation (a view), low-stock alerts and daily
 * movements, all maintained by deltas inside the runner's transaction, so
 * view rows, the group's own state and the consumed offsets commit together
 * (exactly-once effect).
 *
 * It keeps its own per-inventory state (mapping learnt from InventoryCreated,
 * stock, last sequence number) and does not read the projector's tables.
 * Per inventory, events apply in sequence order: duplicates are skipped, a
 * gap is filled from the journal or parked until it can be; events of an
 * inventory whose creation was never seen wait (parked) up to
 * `notCreatedWaitMs`, then go to the DLQ. An event whose daily window has
 * closed (its partition's watermark — newest event time applied from that
 * partition — is past the window's UTC day end + `graceMs`) is counted as
 * late (`late_count`, `aggregator_late_events_total`) and, by `lateEvents`,
 * corrects the window or is dead-lettered with code LATE_EVENT (its stock
 * change still applies: the stock views are not windowed, and leaving it out
 * would make them disagree with the journal forever).
 *
 * Transactions of the group take their locks in one order — partition
 * watermark, per-id advisory locks, then view rows table by table in key
 * order — so concurrent partitions and maintain() never deadlock; they do
 * queue on the few hot stock rows, which bounds scale-out by batch size
 * rather than by instances.
 */
export function createInventoryViewsAggregator(options: InventoryViewsAggregatorOptions): ConsumerHandler<InventoryEvent> {
  const {
    journal,
    serde,
    pool,
    logger,
    groupId = INVENTORY_VIEWS_GROUP,
    tables = liveViewTables,
    graceMs = 3_600_000,
    lateEvents = 'correct',
    notCreatedWaitMs = 60_000,
    gapAttempts = 3,
    gapDelayMs = 100,
  } = options;
  if (!Number.isFinite(graceMs) || graceMs < 0) throw new PipelineError('CONFIG', `graceMs must be >= 0, got ${graceMs}`);
  if (lateEvents !== 'correct' && lateEvents !== 'dead-letter') throw new PipelineError('CONFIG', `unknown late-event policy ${String(lateEvents)}`);
  const lateCounter = options.metrics ? aggregatorMetrics(options.metrics).lateEvents : undefined;

  async function fromJournal(pid: string, from: number, to: number, via: Candidate): Promise<Candidate[]> {
    const records = await journal.load(pid, { from, to });
    return records.map((r) => ({
      persistenceId: pid,
      sequenceNr: r.sequenceNr,
      event: serde.decodeRaw(r.eventType, r.schemaVersion, r.payload),
      sourceWrittenAt: r.writtenAt,
      origin: 'journal' as const,
      position: via.position,
      source: via.source,
    }));
  }

  /** A DLQ record for a candidate; events not taken from the topic are re-encoded at their latest version. */
  async function rejection(c: Candidate, code: string, message: string): Promise<Rejection<InventoryEvent>> {
    if (c.consumed) return { event: c.consumed, code, message };
    const version = latestVersions[c.event.type];
    const src = c.source ?? { topic: serde.topic, partition: -1, offset: -1, key: c.persistenceId, headers: {} };
    const event: ConsumedEvent<InventoryEvent> = {
      ...src,
      headers: { ...src.headers, aggregator_event_origin: c.origin, sequence_nr: String(c.sequenceNr) },
      event: c.event,
      eventType: c.event.type,
      writerVersion: version,
      sourceWrittenAt: c.sourceWrittenAt,
      timestamp: Date.now(),
      raw: await serde.encode(c.event.type, version, c.event.data),
    };
    return { event, code, message };
  }

  const parkRow = (c: Candidate, reason: store.ParkReason) => ({ ...c, origin: c.source, reason });

  /** Gates, repairs gaps, plans and writes. Shared by batches and unparking. */
  async function project(
    tx: PoolClient, part: store.Partition, incoming: Candidate[], extraPids: string[], expired: ReadonlySet<string>, anyParked = true,
  ) {
    const outcome: HandlerOutcome<InventoryEvent> = emptyOutcome();
    const pids = [...new Set([...incoming.map((c) => c.persistenceId), ...extraPids])].sort();
    if (pids.length === 0) return outcome;
    const watermark = await store.lockWatermark(tx, groupId, part);
    const states = await store.loadStates(tx, tables.state, pids);
    const parked: Candidate[] = (anyParked ? await store.loadParked(tx, groupId, pids) : []).map((r) => ({
      ...r, origin: 'parked', source: r.origin, position: -1,
    }));
    const last = new Map([...states].map(([pid, s]) => [pid, s.lastSequenceNr]));
    const { plan: gate, repaired } = await gateWithRepair(last, [...parked, ...incoming], (g) => fromJournal(g.persistenceId, g.from, g.to, g.waiting[0]!), {
      attempts: gapAttempts,
      delayMs: gapDelayMs,
    });
    outcome.gapsRepaired += repaired;

    const productIds = [...gate.ready.values()].flat().flatMap((c) => (c.event.type === 'InventoryCreated' ? [c.event.data.productId] : []));
    const master = await store.loadMaster(tx, productIds);
    const plan = planViews({ states, ready: gate.ready, master, watermark, graceMs, lateEvents });

    const toPark: ReturnType<typeof parkRow>[] = [];
    const toUnpark: Candidate[] = [];
    const reject = async (c: Candidate, code: string, message: string) => {
      if (c.origin === 'parked') toUnpark.push(c);
      outcome.rejected.push(await rejection(c, code, message));
    };
    const waitOrExpire = async (c: Candidate, reason: store.ParkReason) => {
      if (expired.has(c.persistenceId)) {
        await reject(c, 'INVENTORY_NOT_CREATED', `${c.event.type} seq ${c.sequenceNr} of ${c.persistenceId}: no InventoryCreated within ${notCreatedWaitMs} ms`);
      } else if (c.origin !== 'parked') toPark.push(parkRow(c, reason));
    };
    for (const c of plan.notCreated) await waitOrExpire(c, 'NOT_CREATED');
    for (const g of gate.gaps) {
      for (const c of g.waiting) await waitOrExpire(c, 'GAP');
      if (!expired.has(g.persistenceId)) logger.warn({ pid: g.persistenceId, from: g.from, to: g.to }, 'gap not in the journal yet: parked');
    }
    for (const r of plan.rejected) {
      // A journal copy was already dead-lettered when its topic copy was refused: say it again in the log, not the DLQ.
      if (r.item.origin === 'journal') logger.error({ pid: r.item.persistenceId, seq: r.item.sequenceNr, code: r.code }, r.message);
      else await reject(r.item, r.code, r.message);
    }
    for (const c of plan.held) if (c.origin !== 'parked') toPark.push(parkRow(c, 'HELD'));
    for (const c of plan.deadLetters) {
      const day = new Date(c.event.data.metadata.occurredAt).toISOString().slice(0, 10);
      outcome.rejected.push(await rejection(c, 'LATE_EVENT', `${c.event.type} seq ${c.sequenceNr} of ${c.persistenceId}: window ${day} closed (grace ${graceMs} ms); stock applied, window not corrected`));
    }
    if (plan.late.length > 0) {
      lateCounter?.inc({ group: groupId, policy: lateEvents }, plan.late.length);
      logger.info({ late: plan.late.length, policy: lateEvents }, 'late events for closed windows');
    }
    toUnpark.push(...plan.applied.filter((c) => c.origin === 'parked'), ...gate.duplicates.filter((c) => c.origin === 'parked'));

    await store.park(tx, groupId, toPark);
    await store.unpark(tx, groupId, toUnpark);
    // View rows in a fixed table order (and key order within each): concurrent transactions cannot deadlock.
    await applyStockDeltas(tx, tables.stockByZone, 'zone', plan.stockByZone);
    await applyStockDeltas(tx, tables.stockByCategory, 'category', plan.stockByCategory);
    await applyDailyMovements(tx, tables.daily, plan.daily);
    await applyAlerts(tx, tables.alerts, plan.alerts);
    await store.saveStates(tx, tables.state, plan.states.values());
    await store.saveWatermark(tx, groupId, part, plan.watermark);

    outcome.duplicates = gate.duplicates.filter((c) => c.origin === 'topic').length;
    outcome.applied = plan.applied.filter((c) => c.origin !== 'journal').length;
    outcome.parked = toPark.length;
    recordAppliedTimes(outcome, plan.applied);
    return outcome;
  }

  return {
    views: publishedViews(tables),
    async applyBatch(events, tx) {
      const incoming: Candidate[] = events.map((c, i) => ({
        persistenceId: c.event.data.metadata.persistenceId,
        sequenceNr: c.event.data.metadata.sequenceNr,
        event: c.event,
        sourceWrittenAt: c.sourceWrittenAt,
        consumed: c,
        origin: 'topic',
        source: originOf(c),
        position: i,
      }));
      if (events.length === 0) return emptyOutcome();
      const part = { topic: events[0]!.topic, partition: events[0]!.partition };
      // Ids of this partition that waited too long for their creation leave through this batch's DLQ.
      const parked = await store.parkedSummary(tx, groupId, tables.state, notCreatedWaitMs, part);
      return project(tx, part, incoming, parked.expired, new Set(parked.expired), parked.any);
    },
    async maintain() {
      const client = await pool.connect();
      let parked: { persistenceId: string; part: store.Partition }[];
      let expired: Set<string>;
      try {
        parked = await store.parkedIds(client, groupId, serde.topic);
        expired = new Set((await store.parkedSummary(client, groupId, tables.state, notCreatedWaitMs)).expired);
      } finally {
        client.release();
      }
      options.onParkedChange?.(parked.length);
      for (const { persistenceId: pid, part } of parked) {
        await withTransaction(pool, async (tx) => {
          const outcome = await project(tx, part, [], [pid], expired);
          if (outcome.rejected.length === 0) return;
          if (!options.deadLetterQueue) {
            throw new PipelineError('DLQ_UNAVAILABLE', `${pid}: ${outcome.rejected.length} events to dead-letter; left for the next batch`, { retriable: true });
          }
          await options.deadLetterQueue.send(groupId, outcome.rejected.map((r) => deadLetterOf(r.event, r.code, r.message, 1)));
        }).catch((err: unknown) =>
          // Without a DLQ here this is the normal path for expired ids: the next batch takes them.
          errorCode(err) === 'DLQ_UNAVAILABLE'
            ? logger.debug({ pid, err: errorMessage(err) }, 'unparking deferred to the next batch')
            : logger.warn({ pid, err: errorMessage(err) }, 'unparking failed'),
        );
      }
    },
  };
}
