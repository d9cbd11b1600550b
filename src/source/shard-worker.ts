import { ProducerFencedError, type ShardSink } from '../log/relay-producer.js';
import { backoffDelay, sleep } from '../shared/retry.js';
import type { ShardCursor } from './group-commit.js';
import { relayPass, type RelayPassContext, type ShardLease, type ShardPorts, type ShardRef } from './relay-pass.js';
import { classifyFailure, inStage, RecordMappingError, StageFault, type ShardEvent, type ShardOutcome, type ShardStage } from './shard-state.js';
import { TrimmedDataError } from './stream-reader.js';

export type { ShardEvent, ShardOutcome, ShardState, ShardStatus } from './shard-state.js';
export type { ShardLease, ShardPorts } from './relay-pass.js';
export { STREAM_RETENTION_MS } from './stream-reader.js';

export interface ShardWorkerOptions {
  connector: RelayPassContext['connector'];
  shard: ShardRef;
  ports: ShardPorts;
  lease: ShardLease;
  signal: AbortSignal;
  /** Receives every lifecycle event, the returned outcome last (metrics, logs and status live there). */
  observe?: (event: ShardEvent) => void;
}

/** Stages whose fault leaves the producer in an unknown state: it is re-initialised before the next pass. */
const SINK_STAGES: ReadonlySet<ShardStage> = new Set(['commit', 'open-sink', 'reset-sink']);

/**
 * Relays one shard until it is finished, its data is trimmed, the lease is
 * lost, a programming error fails it, or the signal stops it; the outcome is
 * returned (and emitted), never thrown.
 *
 * Guarantee (exactly-once mode): GetRecords pages are committed in Kafka
 * transactions, each holding the records and dead letters of one or more
 * whole pages and the shard checkpoint after the last of them. Catching up,
 * the next pages are read and mapped while a transaction commits and form the
 * next one (at most `batch.maxTransactionRecords` / `maxTransactionBytes`);
 * at the head of the stream every page commits before the next is read
 * (relay-pass.ts, group-commit.ts). After any transient fault (AWS throttling
 * or outage, Kafka unavailable, registry down) the worker backs off,
 * re-initialises the producer if a commit was involved (same transactional
 * id: fences the stuck incarnation), re-reads the committed checkpoint and
 * resumes after it — so a page is either fully in the topic with its
 * checkpoint or not at all — and keeps doing so for as long as it holds the
 * lease. Records are written in stream order, which for one item key is write
 * order. A record the table's seam marks as relayed already (by a gap repair
 * or backfill, src/source/seam.ts) is skipped, so the topic holds each event
 * once across that seam.
 *
 * A programming error (TypeError and kin, see {@link classifyFailure}) is
 * never retried: the shard stops with outcome `failed`, naming the stage and
 * the sequence number, and its checkpoint stays before that record. Stopping
 * rather than dead-lettering because such an error says nothing about the
 * record — it is usually our bug hitting every record after it — and the
 * bridge's DLQ holds item images that cannot be replayed into the event
 * topic, so dead-lettering would divert valid events for good; a stopped
 * shard loses nothing (the stream keeps records 24 h, then the trimmed-data
 * backfill covers them) and resumes exactly where it stopped once fixed.
 */
export async function runShard(options: ShardWorkerOptions): Promise<ShardOutcome> {
  const { lease, signal } = options;
  const observe = options.observe ?? (() => undefined);
  const cursor: ShardCursor = { committed: undefined };
  const sink = createSinkSlot(options.ports.openSink);
  // Consecutive transient faults; a page handled ('polled') ends the run.
  let faults = 0;
  let positioned = false;
  const emit = (event: ShardEvent) => {
    if (event.type === 'polled') faults = 0;
    if (event.type === 'positioned') positioned = true;
    observe(event);
  };
  const end = (outcome: ShardOutcome): ShardOutcome => {
    emit(outcome);
    return outcome;
  };

  try {
    for (;;) {
      if (signal.aborted) return end({ type: 'stopped' });
      if (!lease.valid()) return end({ type: 'lost-lease' });
      try {
        const ready = await sink.ready(emit);
        return end(await relayPass({ ...options, ports: options.ports, sink: ready, sinkFailed: sink.suspect, cursor, resumed: positioned, emit }));
      } catch (err) {
        // Only a bug in the observer escapes every step untagged.
        const { stage, error } = err instanceof StageFault ? err : new StageFault('get-records', err);
        if (signal.aborted) return end({ type: 'stopped' });
        if (error instanceof TrimmedDataError) return end({ type: 'trimmed', after: cursor.committed?.sequenceNumber ?? null });
        if (classifyFailure(error) === 'programming') {
          const sequenceNumber = error instanceof RecordMappingError ? error.sequenceNumber : (cursor.committed?.sequenceNumber ?? null);
          return end({ type: 'failed', stage, error, sequenceNumber });
        }
        if (error instanceof ProducerFencedError && !lease.valid()) return end({ type: 'lost-lease' });
        if (SINK_STAGES.has(stage)) sink.suspect();
        emit({ type: 'transient-fault', stage, error, attempt: ++faults });
        await sleep(backoffDelay(Math.min(faults, 8), 200, 10_000), signal);
      }
    }
  } finally {
    await sink.close();
  }
}

/** The shard's sink across passes: opened on first use, reset (fencing the stuck incarnation) after a failure left it in doubt. */
function createSinkSlot(openSink: () => Promise<ShardSink>) {
  let sink: ShardSink | undefined;
  let suspect = false;
  return {
    async ready(emit: (event: ShardEvent) => void): Promise<ShardSink> {
      if (!sink) {
        sink = await inStage('open-sink', openSink);
        suspect = false;
      } else if (suspect) {
        const current = sink;
        await inStage('reset-sink', async () => {
          await current.reset();
          suspect = false;
          emit({ type: 'producer-reset' });
        });
      }
      return sink;
    },
    suspect: () => void (suspect = true),
    close: async () => sink?.close(),
  };
}
