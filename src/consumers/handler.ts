import type { PoolClient } from '../db/db.js';

/** One decoded, upcast record as a handler sees it. */
export interface ConsumedEvent<E> {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  event: E;
  eventType: string;
  /** Schema version the bytes were written at (before upcasting). */
  writerVersion: number | undefined;
  /** Journal `written_at` carried by the bridge (header), for freshness. */
  sourceWrittenAt: number | undefined;
  /** Kafka record timestamp (ms). */
  timestamp: number;
  headers: Record<string, string>;
  /** The record's value as it was consumed, for the DLQ. */
  raw: Buffer | null;
}

/** An event the handler refuses on purpose (e.g. it breaks an invariant): it goes to the DLQ. */
export interface Rejection<E> {
  event: ConsumedEvent<E>;
  code: string;
  message: string;
}

export interface HandlerOutcome<E> {
  applied: number;
  duplicates: number;
  gapsRepaired: number;
  parked: number;
  /** Events of a type (or persistence id) the handler does not handle: skipped, their offsets still advance. */
  ignored: number;
  rejected: Rejection<E>[];
  /** Newest journal written_at applied (ms), for view freshness. */
  newestSourceTime?: number;
  newestEventTime?: number;
  /**
   * Journal written_at (ms) of each event applied from the topic, for the
   * end-to-end latency histogram (one observation per event, not per batch:
   * the oldest event of a batch waited longest).
   */
  appliedSourceTimes?: number[];
}

/** What a handler knows of each event it applied, whatever its origin. */
export interface AppliedEvent {
  sourceWrittenAt: number | undefined;
  /** `journal`: read to repair a gap, not consumed from the topic (no latency of its own). */
  origin: 'topic' | 'journal' | 'parked';
  event: { data: { metadata: { occurredAt: number } } };
}

/** Fills the outcome's times (view freshness, end-to-end latency) from the events a batch applied. */
export function recordAppliedTimes<E>(outcome: HandlerOutcome<E>, applied: readonly AppliedEvent[]): void {
  for (const c of applied) {
    if (c.sourceWrittenAt) {
      outcome.newestSourceTime = Math.max(outcome.newestSourceTime ?? 0, c.sourceWrittenAt);
      if (c.origin !== 'journal') (outcome.appliedSourceTimes ??= []).push(c.sourceWrittenAt);
    }
    outcome.newestEventTime = Math.max(outcome.newestEventTime ?? 0, c.event.data.metadata.occurredAt);
  }
}

/**
 * A batch handler of a consumer group (a projector or an aggregator).
 * `applyBatch` runs inside the runner's PostgreSQL transaction, after the
 * runner has dropped records below the stored offsets: it must only write
 * through `tx`, so that its rows and the consumed offsets commit together.
 * A batch may hold the events of several partitions (the small batches of
 * one fetch join one transaction, see batch-joiner.ts), partition after
 * partition, each in offset order; ordering per persistence id by sequence
 * number is the handler's job.
 */
export interface ConsumerHandler<E> {
  /** Views (tables) this handler maintains, for freshness bookkeeping. */
  readonly views: readonly string[];
  applyBatch(events: ConsumedEvent<E>[], tx: PoolClient): Promise<HandlerOutcome<E>>;
  /** Periodic work outside batches (e.g. unparking ids whose gap the journal can now fill). */
  maintain?(): Promise<void>;
}

export const emptyOutcome = <E>(): HandlerOutcome<E> => ({
  applied: 0,
  duplicates: 0,
  gapsRepaired: 0,
  parked: 0,
  ignored: 0,
  rejected: [],
});

/** Adds `o` to `into` (isolated events of one batch applied one by one). */
export function mergeOutcome<E>(into: HandlerOutcome<E>, o: HandlerOutcome<E>): void {
  into.applied += o.applied;
  into.duplicates += o.duplicates;
  into.gapsRepaired += o.gapsRepaired;
  into.parked += o.parked;
  into.ignored += o.ignored;
  into.rejected.push(...o.rejected);
  into.newestSourceTime = Math.max(into.newestSourceTime ?? 0, o.newestSourceTime ?? 0) || undefined;
  into.newestEventTime = Math.max(into.newestEventTime ?? 0, o.newestEventTime ?? 0) || undefined;
  if (o.appliedSourceTimes) (into.appliedSourceTimes ??= []).push(...o.appliedSourceTimes);
}
