import type { JournalReader } from './source-journal.js';
import type { EventSerde } from '../events/serde.js';
import { errorCode, errorMessage, PipelineError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { withTransaction, type Pool, type PoolClient } from '../db/db.js';
import type { DeadLetterQueue } from './dead-letter.js';
import { emptyOutcome, recordAppliedTimes, type ConsumedEvent, type ConsumerHandler, type HandlerOutcome, type Rejection } from './handler.js';
import * as parking from './parking-store.js';
import { deadLetterOf } from './record-decoder.js';
import { gateWithRepair, type Sequenced } from './sequence-gate.js';

/** What the core reads of an event: its place in its aggregate's stream. */
export interface OrderedEvent {
  type: string;
  data: { metadata: { persistenceId: string; sequenceNr: number; occurredAt: number } };
}

/** An event as a plan sees it: consumed from the topic, read from the journal (gap repair) or parked earlier. */
export interface Candidate<E> extends Sequenced {
  event: E;
  sourceWrittenAt: number | undefined;
  /** The consumed record, for topic events only. */
  consumed?: ConsumedEvent<E>;
  origin: 'topic' | 'journal' | 'parked';
  /** Kafka position to name in the DLQ (for journal events: that of the event that revealed the gap). */
  source: parking.Origin | undefined;
  /** Position in the batch (journal events: that of the event that revealed the gap; parked: -1); lower first. */
  position: number;
}

/** A plan's refusal of one event, with the code that travels into the DLQ headers. */
export interface Verdict<C> {
  item: C;
  code: string;
  message: string;
}

/** What a plan decided for the ready events it was given (each at most once). */
export interface Decisions<C> {
  applied: C[];
  /** Refused (they break an invariant): dead-lettered; what follows them per id is `held`. */
  rejected: Verdict<C>[];
  held: C[];
  /** Events of an aggregate whose creation has not been seen: they wait, up to `notCreated.waitMs`. */
  notCreated?: C[];
  /** Applied, and sent to the DLQ as well (e.g. a late event left out of its closed window). */
  deadLettered?: Verdict<C>[];
}

/**
 * What one consumer adds to the core: its state, its pure plan and its table
 * writes — the `{ canHandle, handle }` of an Emmett projection, per batch.
 * `load`, `plan` and `write` run in the caller's transaction, in that order.
 * A batch may hold the events of several partitions (the small batches of one
 * fetch, see batch-joiner.ts): `parts` are those partitions in (topic,
 * partition) order, and `partOf` says which one an id's events come from.
 */
export interface OrderedView<E, S, P extends Decisions<Candidate<E>>> {
  /** Views (tables) this consumer maintains, for freshness bookkeeping. */
  readonly views: readonly string[];
  /**
   * Whether the consumer handles this event; others are skipped and counted
   * (`ignored`) before the sequence gate. Decide by aggregate or event type
   * such that an id's stream is handled whole or not at all (a heartbeat on a
   * reserved id): an unhandled event inside a handled stream is a gap.
   */
  canHandle(event: E): boolean;
  /**
   * Takes the consumer's locks (per-id advisory locks in a stable order, after
   * any lock it holds per partition, partitions in the order given) and reads
   * the state of `pids`, with the last applied sequence number of each.
   */
  load(tx: PoolClient, pids: string[], parts: readonly parking.Partition[]): Promise<{ last: ReadonlyMap<string, number>; state: S }>;
  /** Plans the ready runs (contiguous, in sequence order per id); may read, never writes. */
  plan(tx: PoolClient, state: S, ready: ReadonlyMap<string, Candidate<E>[]>, partOf: (pid: string) => parking.Partition): Promise<P>;
  /** Writes the plan's row changes, tables in a fixed order (and keys in order within each). */
  write(tx: PoolClient, planned: P, parts: readonly parking.Partition[]): Promise<void>;
}

export interface OrderedHandlerOptions<E, S, P extends Decisions<Candidate<E>>> {
  view: OrderedView<E, S, P>;
  journal: JournalReader;
  serde: EventSerde<E>;
  pool: Pool;
  logger: Logger;
  groupId: string;
  /** Latest schema version per event type, to re-encode a dead letter that did not come from the topic. */
  latestVersions: Readonly<Record<string, number>>;
  /** Attempts to read a missing range from the journal before parking (the journal may lag the topic). */
  gapAttempts?: number;
  gapDelayMs?: number;
  /**
   * Bounds the wait for an aggregate's creation: events of an id with no row
   * in `stateTable`, parked for longer than `waitMs`, are dead-lettered with
   * `code`. Without it such events wait until their creation can be read.
   */
  notCreated?: { stateTable: string; waitMs: number; code: string; creation: string };
  /** Lets maintain() dead-letter outside a batch; without it such events wait for the next batch. */
  deadLetterQueue?: DeadLetterQueue;
  onParkedChange?: (parkedIds: number) => void;
}

export interface OrderedHandler<E> extends ConsumerHandler<E> {
  /**
   * Applies the journal's events of `persistenceId` after the last applied
   * one, up to `toSequenceNr`, in one transaction (integrity repair). Returns
   * how many were applied or refused (not parked).
   */
  catchUp(persistenceId: string, toSequenceNr: number): Promise<number>;
}

/**
 * The ordered-handler core every view consumer runs on. Per persistence id it
 * applies sequence numbers in order: duplicates are skipped and counted; a
 * gap is filled from the journal (the source of truth) and applied first; if
 * the journal does not have the range yet, the id is parked — its later
 * events wait in `parked_events` while other ids flow — and `maintain()`
 * unparks it as soon as the range can be read. A refused event goes to the
 * DLQ (through the batch's transaction, or maintain()'s queue) and the rest of
 * its id's run waits behind it for the journal's truth; a journal copy that
 * is refused again is only logged (its topic copy was dead-lettered).
 *
 * Lock order in every transaction, batches and maintain() alike: the view's
 * per-partition and per-id locks (`load`), parked rows, then the view's rows —
 * so concurrent partitions, instances and maintain() never deadlock.
 */
export function createOrderedHandler<E extends OrderedEvent, S, P extends Decisions<Candidate<E>>>(
  options: OrderedHandlerOptions<E, S, P>,
): OrderedHandler<E> {
  const { view, journal, serde, pool, logger, groupId, latestVersions, notCreated, gapAttempts = 3, gapDelayMs = 100 } = options;
  const expiry = notCreated && { stateTable: notCreated.stateTable, waitMs: notCreated.waitMs };
  if (notCreated && (!Number.isFinite(notCreated.waitMs) || notCreated.waitMs < 0)) {
    throw new PipelineError('CONFIG', `notCreated.waitMs must be >= 0, got ${notCreated.waitMs}`);
  }

  async function fromJournal(pid: string, from: number, to: number, via: Pick<Candidate<E>, 'position' | 'source'>): Promise<Candidate<E>[]> {
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
  async function rejection(c: Candidate<E>, code: string, message: string): Promise<Rejection<E>> {
    if (c.consumed) return { event: c.consumed, code, message };
    const version = latestVersions[c.event.type];
    const src = c.source ?? { topic: serde.topic, partition: -1, offset: -1, key: c.persistenceId, headers: {} };
    const event: ConsumedEvent<E> = {
      ...src,
      headers: { ...src.headers, aggregator_event_origin: c.origin, sequence_nr: String(c.sequenceNr) },
      event: c.event,
      eventType: c.event.type,
      writerVersion: version,
      sourceWrittenAt: c.sourceWrittenAt,
      timestamp: Date.now(),
      raw: version === undefined ? null : await serde.encode(c.event.type, version, c.event.data),
    };
    return { event, code, message };
  }

  const parkRow = (c: Candidate<E>, reason: parking.ParkReason) => ({ ...c, origin: c.source, reason });

  /**
   * Gates, repairs gaps, plans, parks and writes. Shared by batches, unparking and catch-up.
   * An id's partition is `partOf`'s, or `fallback` when it names none.
   */
  async function project(
    tx: PoolClient, partOf: ReadonlyMap<string, parking.Partition>, fallback: parking.Partition,
    incoming: Candidate<E>[], extraPids: string[], expired: ReadonlySet<string>, anyParked = true,
  ): Promise<HandlerOutcome<E>> {
    const outcome = emptyOutcome<E>();
    const pids = [...new Set([...incoming.map((c) => c.persistenceId), ...extraPids])].sort();
    if (pids.length === 0) return outcome;
    const partOfPid = (pid: string) => partOf.get(pid) ?? fallback;
    const parts = parking.distinctPartitions(pids.map(partOfPid));
    const { last, state } = await view.load(tx, pids, parts);
    const parked: Candidate<E>[] = (anyParked ? await parking.loadParked<E>(tx, groupId, pids) : []).map((r) => ({
      ...r, origin: 'parked', source: r.origin, position: -1,
    }));
    const { plan: gate, repaired } = await gateWithRepair(last, [...parked, ...incoming], (g) => fromJournal(g.persistenceId, g.from, g.to, g.waiting[0]!), {
      attempts: gapAttempts,
      delayMs: gapDelayMs,
    });
    outcome.gapsRepaired += repaired;
    const planned = await view.plan(tx, state, gate.ready, partOfPid);

    const toPark: ReturnType<typeof parkRow>[] = [];
    const toUnpark: Candidate<E>[] = [];
    const reject = async (c: Candidate<E>, code: string, message: string) => {
      if (c.origin === 'parked') toUnpark.push(c);
      outcome.rejected.push(await rejection(c, code, message));
    };
    const waitOrExpire = async (c: Candidate<E>, reason: parking.ParkReason) => {
      if (notCreated && expired.has(c.persistenceId)) {
        await reject(c, notCreated.code, `${c.event.type} seq ${c.sequenceNr} of ${c.persistenceId}: no ${notCreated.creation} within ${notCreated.waitMs} ms`);
      } else if (c.origin !== 'parked') toPark.push(parkRow(c, reason));
    };
    for (const c of planned.notCreated ?? []) await waitOrExpire(c, 'NOT_CREATED');
    for (const g of gate.gaps) {
      for (const c of g.waiting) await waitOrExpire(c, 'GAP');
      if (!expired.has(g.persistenceId)) logger.warn({ pid: g.persistenceId, from: g.from, to: g.to }, 'gap not in the journal yet: parked');
    }
    for (const r of planned.rejected) {
      // A journal copy was already dead-lettered when its topic copy was refused: say it again in the log, not the DLQ.
      if (r.item.origin === 'journal') logger.error({ pid: r.item.persistenceId, seq: r.item.sequenceNr, code: r.code }, r.message);
      else await reject(r.item, r.code, r.message);
    }
    for (const c of planned.held) if (c.origin !== 'parked') toPark.push(parkRow(c, 'HELD'));
    for (const r of planned.deadLettered ?? []) outcome.rejected.push(await rejection(r.item, r.code, r.message));
    toUnpark.push(...planned.applied.filter((c) => c.origin === 'parked'), ...gate.duplicates.filter((c) => c.origin === 'parked'));

    await parking.park(tx, groupId, toPark);
    await parking.unpark(tx, groupId, toUnpark);
    await view.write(tx, planned, parts);

    outcome.duplicates = gate.duplicates.filter((c) => c.origin === 'topic').length;
    outcome.applied = planned.applied.filter((c) => c.origin !== 'journal').length;
    outcome.parked = toPark.length;
    recordAppliedTimes(outcome, planned.applied);
    return outcome;
  }

  const fromTopic = (c: ConsumedEvent<E>, position: number): Candidate<E> => ({
    persistenceId: c.event.data.metadata.persistenceId,
    sequenceNr: c.event.data.metadata.sequenceNr,
    event: c.event,
    sourceWrittenAt: c.sourceWrittenAt,
    consumed: c,
    origin: 'topic',
    source: { topic: c.topic, partition: c.partition, offset: c.offset, key: c.key, headers: c.headers },
    position,
  });

  return {
    views: view.views,
    async applyBatch(events, tx) {
      if (events.length === 0) return emptyOutcome();
      const incoming = events.flatMap((c, i) => (view.canHandle(c.event) ? [fromTopic(c, i)] : []));
      const partOf = new Map<string, parking.Partition>();
      for (const c of incoming) partOf.set(c.persistenceId, { topic: c.consumed!.topic, partition: c.consumed!.partition });
      const parts = parking.distinctPartitions(events.map((c) => ({ topic: c.topic, partition: c.partition })));
      // Ids of these partitions that waited too long for their creation leave through this batch's DLQ.
      const parked = await parking.parkedSummary(tx, groupId, expiry, parts);
      for (const x of parked.expired) partOf.set(x.persistenceId, x.part);
      const expired = parked.expired.map((x) => x.persistenceId);
      const outcome = await project(tx, partOf, parts[0]!, incoming, expired, new Set(expired), parked.any);
      outcome.ignored = events.length - incoming.length;
      return outcome;
    },
    async catchUp(pid, toSequenceNr) {
      const part = { topic: serde.topic, partition: -1 };
      return withTransaction(pool, async (tx) => {
        const { last } = await view.load(tx, [pid], [part]);
        const from = (last.get(pid) ?? 0) + 1;
        if (from > toSequenceNr) return 0;
        const candidates = await fromJournal(pid, from, toSequenceNr, { position: 0, source: undefined });
        const outcome = await project(tx, new Map(), part, candidates, [], new Set());
        return candidates.length - outcome.parked;
      });
    },
    async maintain() {
      const client = await pool.connect();
      let parked: { persistenceId: string; part: parking.Partition }[];
      let expired: Set<string>;
      try {
        parked = await parking.parkedIds(client, groupId, serde.topic);
        expired = new Set((await parking.parkedSummary(client, groupId, expiry)).expired.map((x) => x.persistenceId));
      } finally {
        client.release();
      }
      options.onParkedChange?.(parked.length);
      for (const { persistenceId: pid, part } of parked) {
        // No new events: loading the parked ones re-runs the gap repair for this id.
        await withTransaction(pool, async (tx) => {
          const outcome = await project(tx, new Map(), part, [], [pid], expired);
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
