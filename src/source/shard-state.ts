/**
 * The life of one shard worker as data: the states it can be in, the events
 * that move it between them, and the status the bridge derives from those
 * events. The worker only emits events and returns its outcome; it never
 * touches the status (Akka Projections' `StatusObserver`). Everything here is
 * pure and unit-tested without servers.
 *
 *   starting ──positioned──► reading ⇄ caught-up
 *      │                       │  ▲
 *      │              transient-fault / positioned (after recovery)
 *      │                       ▼  │
 *      │                    recovering
 *      └──────── any live state ──► finished | trimmed | failed | lost-lease | stopped
 */
import { errorMessage } from '../shared/errors.js';

export type ShardState =
  | 'starting'
  | 'reading'
  | 'caught-up'
  /** A transient fault (AWS, network, Kafka) is being retried with backoff. */
  | 'recovering'
  /** Closed shard relayed to its end (SHARD_END checkpointed). */
  | 'finished'
  /** The position is older than the stream's retention: the bridge backfills. */
  | 'trimmed'
  /** Stopped on a programming error; not restarted until the process is. */
  | 'failed'
  | 'lost-lease'
  | 'stopped';

/** Where in a shard's cycle a fault happened (metric label, log field). */
export type ShardStage = 'open-sink' | 'reset-sink' | 'checkpoint' | 'iterator' | 'get-records' | 'mapping' | 'commit';

export type ShardOutcome =
  | { type: 'finished'; lastSequenceNumber: string | null }
  | { type: 'trimmed'; after: string | null }
  | { type: 'failed'; stage: ShardStage; error: unknown; sequenceNumber: string | null }
  | { type: 'lost-lease' }
  | { type: 'stopped' };

export type ShardEvent =
  /** Iterator obtained from the committed checkpoint (at start and after each recovery). */
  | { type: 'positioned'; after: string | null; resumed: boolean }
  | { type: 'page-read'; records: number; latencyMs: number }
  /** A transaction (records, dead letters, checkpoint) committed; `at` is the commit time (ms). */
  | ({ type: 'committed'; lastSequenceNumber: string | null; records: number; at: number; timing?: TransactionTiming } & RelayCounts)
  /** After each page: at the head of the stream (`caughtUp`) or behind it. */
  | { type: 'polled'; caughtUp: boolean; iteratorAgeMs: number; at: number }
  | { type: 'transient-fault'; stage: ShardStage; error: unknown; attempt: number }
  | { type: 'producer-reset' }
  | { type: 'iterator-renewed'; reason: 'expired' | 'spurious-trim'; attempt: number }
  | ShardOutcome;

/** What a page or a transaction did with the records it read (the `committed` event carries it). */
export interface RelayCounts {
  relayed: number;
  deadLettered: { code: string; reason: string; sequenceNumber: string }[];
  /** One reason per record skipped (MODIFY/REMOVE policy, or ALREADY_RELAYED by the seam). */
  filtered: string[];
  /** written_at of the last relayed event that has one. */
  lastWrittenAt: number | undefined;
}

/** When a page's records were read, and the journal write times of its events (epoch ms). */
export interface PageTiming {
  /** GetRecords answered. */
  readAt: number;
  /** Messages the page put in the transaction. */
  messages: number;
  /** written_at of each relayed event that has one. */
  writtenAts: number[];
}

/** The stage times of one transaction: its pages, and when its records were produced (the commit's sends began). */
export interface TransactionTiming {
  producedAt: number;
  pages: PageTiming[];
}

export function emptyCounts(): RelayCounts {
  return { relayed: 0, deadLettered: [], filtered: [], lastWrittenAt: undefined };
}

/** Adds `more` into `into` (in place; lists keep read order). */
export function addCounts(into: RelayCounts, more: RelayCounts): void {
  into.relayed += more.relayed;
  for (const d of more.deadLettered) into.deadLettered.push(d);
  for (const f of more.filtered) into.filtered.push(f);
  if (more.lastWrittenAt !== undefined) into.lastWrittenAt = more.lastWrittenAt;
}

export interface ShardStatus {
  shardId: string;
  state: ShardState;
  lastSequenceNumber: string | null;
  relayed: number;
  deadLettered: number;
  filtered: number;
  lastCommitAt: number | undefined;
  /** Consecutive transient faults (0 once a page is handled again). */
  faults: number;
  /** Message of the last fault, or of the programming error that failed the shard. */
  lastError: string | undefined;
}

const TERMINAL: ReadonlySet<ShardState> = new Set(['finished', 'trimmed', 'failed', 'lost-lease', 'stopped']);

export function isTerminal(state: ShardState): boolean {
  return TERMINAL.has(state);
}

/** The state an event moves to; terminal states absorb every event. */
export function transition(state: ShardState, event: ShardEvent): ShardState {
  if (isTerminal(state)) return state;
  switch (event.type) {
    case 'positioned':
      return 'reading';
    case 'polled':
      return event.caughtUp ? 'caught-up' : 'reading';
    case 'transient-fault':
      return 'recovering';
    case 'finished':
    case 'trimmed':
    case 'failed':
    case 'lost-lease':
    case 'stopped':
      return event.type;
    case 'page-read':
    case 'committed':
    case 'producer-reset':
    case 'iterator-renewed':
      return state;
  }
}

export function initialShardStatus(shardId: string): ShardStatus {
  return { shardId, state: 'starting', lastSequenceNumber: null, relayed: 0, deadLettered: 0, filtered: 0, lastCommitAt: undefined, faults: 0, lastError: undefined };
}

/** Folds one event into the status (pure: returns a new object). */
export function reduceShardStatus(status: ShardStatus, event: ShardEvent): ShardStatus {
  const next: ShardStatus = { ...status, state: transition(status.state, event) };
  if (isTerminal(status.state)) return next;
  switch (event.type) {
    case 'positioned':
      next.lastSequenceNumber = event.after;
      break;
    case 'committed':
      next.lastSequenceNumber = event.lastSequenceNumber;
      next.lastCommitAt = event.at;
      next.relayed += event.relayed;
      next.deadLettered += event.deadLettered.length;
      next.filtered += event.filtered.length;
      next.faults = 0;
      break;
    case 'polled':
      next.faults = 0;
      break;
    case 'transient-fault':
      next.faults = event.attempt;
      next.lastError = messageOf(event.error);
      break;
    case 'failed':
      next.lastError = messageOf(event.error);
      break;
    case 'finished':
      next.lastSequenceNumber = event.lastSequenceNumber;
      break;
    default:
      break;
  }
  return next;
}

export type FailureClass = 'programming' | 'transient';

/**
 * How a worker treats an error that is not an outcome of its own (trimmed
 * data, an expired iterator and dead-lettered records are handled before
 * this). A TypeError, ReferenceError, RangeError or SyntaxError thrown by our
 * code is a programming error: retrying cannot help and would stall the shard
 * silently, so it fails the shard. The AWS SDK also surfaces a garbled answer
 * (a restarting DynamoDB Local serving an HTML page) as a SyntaxError; it
 * carries `$metadata` or `$responseBodyText` and is the dependency's fault.
 * Everything else — throttling, network, a restarting DynamoDB Local or
 * Kafka broker, a registry outage — is retried while the lease is held.
 */
export function classifyFailure(err: unknown): FailureClass {
  const e = err instanceof RecordMappingError ? err.cause : err;
  const programming = e instanceof TypeError || e instanceof ReferenceError || e instanceof RangeError || e instanceof SyntaxError;
  if (!programming) return 'transient';
  const sdk = e as { $metadata?: unknown; $responseBodyText?: unknown };
  return sdk.$metadata === undefined && sdk.$responseBodyText === undefined ? 'programming' : 'transient';
}

/**
 * A fault and the step of the relay it happened in. Each step of a relay pass
 * tags what it throws ({@link inStage}); the worker unwraps it to decide, so
 * the stage is a property of the fault, not of a variable set before each step.
 */
export class StageFault extends Error {
  constructor(
    readonly stage: ShardStage,
    readonly error: unknown,
  ) {
    super(`${stage}: ${messageOf(error)}`, { cause: error });
    this.name = 'StageFault';
  }
}

/** Runs one step; what it throws leaves tagged with `stage` (a fault already tagged keeps its stage). */
export async function inStage<T>(stage: ShardStage, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw err instanceof StageFault ? err : new StageFault(stage, err);
  }
}

/** A mapper failure, with the stream position of the record it failed on. */
export class RecordMappingError extends Error {
  constructor(
    readonly sequenceNumber: string,
    override readonly cause: unknown,
  ) {
    super(`mapping record ${sequenceNumber} failed: ${messageOf(cause)}`, { cause });
    this.name = 'RecordMappingError';
  }
}

function messageOf(err: unknown): string {
  return errorMessage(err).slice(0, 500);
}
