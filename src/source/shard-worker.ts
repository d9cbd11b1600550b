import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import { checkpointKey, type Checkpoint, type CheckpointReader } from '../log/checkpoints.js';
import { messageBytes, ProducerFencedError, type CheckpointWrite, type OutgoingMessage, type ShardSink } from '../log/relay-producer.js';
import { backoffDelay, sleep } from '../shared/retry.js';
import type { Item } from './attributes.js';
import type { ConnectorConfig } from './connector.js';
import type { RecordMapper } from './mapping.js';
import { alreadyRelayed, seamOf, type Seam } from './seam.js';
import { classifyFailure, RecordMappingError, type ShardEvent, type ShardOutcome, type ShardStage } from './shard-state.js';
import { IteratorExpiredError, TrimmedDataError, type RecordsPage, type StreamPosition, type StreamReader } from './stream-reader.js';

export type { ShardEvent, ShardOutcome, ShardState, ShardStatus } from './shard-state.js';

/** DynamoDB Streams keeps records for 24 hours. */
export const STREAM_RETENTION_MS = 24 * 3600_000;

/** What a shard worker reads from and writes to. */
export interface ShardPorts {
  reader: StreamReader;
  checkpoints: CheckpointReader;
  mapper: RecordMapper;
  /** Builds (and initialises, which fences predecessors) the shard's sink. */
  openSink: () => Promise<ShardSink>;
}

/** The worker's lease on the shard (always valid without leases). */
export interface ShardLease {
  /** Is this worker still allowed to write the shard? */
  valid(): boolean;
  /** Written into every checkpoint. */
  epoch(): number;
}

export interface ShardWorkerOptions {
  connector: Pick<ConnectorConfig, 'table' | 'checkpointTopic' | 'batch'>;
  shard: {
    streamArn: string;
    shardId: string;
    parentShardId?: string | undefined;
    startingSequenceNumber?: string | undefined;
  };
  ports: ShardPorts;
  lease: ShardLease;
  signal: AbortSignal;
  /** Receives every lifecycle event, the returned outcome last (metrics, logs and status live there). */
  observe?: (event: ShardEvent) => void;
}

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
 * at the head of the stream every page commits before the next is read. After any transient fault (AWS throttling or outage, Kafka
 * unavailable, registry down) the worker backs off, re-initialises the
 * producer if a commit was involved (same transactional id: fences the stuck
 * incarnation), re-reads the committed checkpoint and resumes after it — so a
 * page is either fully in the topic with its checkpoint or not at all — and
 * keeps doing so for as long as it holds the lease. Records are written in
 * stream order, which for one item key is write order. A record the table's
 * seam marks as relayed already (by a gap repair or backfill, src/source/seam.ts)
 * is skipped, so the topic holds each event once across that seam.
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
  const { connector, shard, ports, lease, signal } = options;
  const { table, batch } = connector;
  const { maxTransactionRecords: maxTxRecords = 5_000, maxTransactionBytes: maxTxBytes = 4 * 1024 * 1024 } = batch;
  const { streamArn, shardId } = shard;
  const { reader, checkpoints, mapper } = ports;
  const emit = options.observe ?? (() => undefined);
  let pos: Checkpoint | undefined;
  let seam: Seam = new Map();
  let sink: ShardSink | undefined;
  // After a failed commit (or open, or reset) the producer's state is unknown: re-initialise it first.
  let sinkSuspect = false;
  let stage = 'open-sink' as ShardStage;
  let faults = 0;
  let positioned = false;

  const end = (outcome: ShardOutcome): ShardOutcome => {
    emit(outcome);
    return outcome;
  };

  try {
    for (;;) {
      if (signal.aborted) return end({ type: 'stopped' });
      if (!lease.valid()) return end({ type: 'lost-lease' });
      try {
        return end(await relay());
      } catch (err) {
        if (signal.aborted) return end({ type: 'stopped' });
        if (err instanceof TrimmedDataError) return end({ type: 'trimmed', after: pos?.sequenceNumber ?? null });
        if (classifyFailure(err) === 'programming') {
          const sequenceNumber = err instanceof RecordMappingError ? err.sequenceNumber : (pos?.sequenceNumber ?? null);
          return end({ type: 'failed', stage, error: err, sequenceNumber });
        }
        if (err instanceof ProducerFencedError && !lease.valid()) return end({ type: 'lost-lease' });
        if (stage === 'commit' || stage === 'open-sink' || stage === 'reset-sink') sinkSuspect = true;
        emit({ type: 'transient-fault', stage, error: err, attempt: ++faults });
        await sleep(backoffDelay(Math.min(faults, 8), 200, 10_000), signal);
      }
    }
  } finally {
    await sink?.close();
  }

  async function position(): Promise<Checkpoint | undefined> {
    const all = await checkpoints.read(table);
    seam = seamOf(all);
    const c = all.get(shardId);
    const parent = shard.parentShardId ? all.get(shard.parentShardId) : undefined;
    if (c || !parent || !shard.startingSequenceNumber) return c;
    // A child of a shard relayed here starts AT its first position, not TRIM_HORIZON: if the stream trimmed
    // its first records while nobody read it (a long outage right after its parent ended), GetShardIterator
    // says so and the gap is repaired instead of skipped.
    return { sequenceNumber: null, shardEnded: false, updatedAt: Date.now(), leaseEpoch: 0, resumeAt: shard.startingSequenceNumber, ...(parent.writtenAt === undefined ? {} : { writtenAt: parent.writtenAt }) };
  }

  /** Positions at the committed checkpoint and relays page after page; throws on any fault. */
  async function relay(): Promise<ShardOutcome> {
    if (!sink) {
      stage = 'open-sink';
      sink = await ports.openSink();
      sinkSuspect = false;
    } else if (sinkSuspect) {
      stage = 'reset-sink';
      await sink.reset();
      sinkSuspect = false;
      emit({ type: 'producer-reset' });
    }
    stage = 'checkpoint';
    pos = await position();
    if (pos?.shardEnded) return { type: 'finished', lastSequenceNumber: pos.sequenceNumber };
    stage = 'iterator';
    let iterator = await reader.iterator(streamArn, shardId, positionOf(pos), signal);
    emit({ type: 'positioned', after: pos?.sequenceNumber ?? null, resumed: positioned });
    positioned = true;
    let trims = 0;
    let prefetched: Promise<RecordsPage> | undefined;
    // Group commit: while one transaction commits, the pages read meanwhile
    // are mapped into the next one, which starts as soon as the first is done.
    let pending = emptyTransaction();
    // The last sequence number read; every transaction started so far ends at or before it.
    let readSeq = pos?.sequenceNumber ?? null;
    let inflight: { promise: Promise<void>; settled: boolean } | undefined;

    /** Starts committing `t` (records, dead letters and its checkpoint in one transaction); at most one commit runs at a time. */
    const startCommit = (t: PendingTransaction) => {
      const writtenAt = t.writtenAt ?? pos?.writtenAt;
      const promise = sink!.commit(t.out, checkpointOf(t.lastSeq, t.ended, writtenAt)).then(() => {
        const at = Date.now();
        pos = { sequenceNumber: t.lastSeq, shardEnded: t.ended, updatedAt: at, leaseEpoch: lease.epoch(), ...(writtenAt === undefined ? {} : { writtenAt }) };
        emit({ type: 'committed', lastSequenceNumber: t.lastSeq, records: t.records, ...t.counts, at });
      });
      const entry = { promise, settled: false };
      promise.then(
        () => (entry.settled = true),
        () => (entry.settled = true),
      );
      inflight = entry;
    };
    /** Waits for the commit in flight; its failure is thrown here, at stage 'commit'. */
    const drain = async () => {
      if (!inflight) return;
      const { promise } = inflight;
      stage = 'commit';
      try {
        await promise;
      } finally {
        inflight = undefined;
      }
    };

    try {
      while (!signal.aborted) {
        if (!lease.valid()) return { type: 'lost-lease' };
        if (iterator === undefined) {
          // No iterator for a closed shard that was read to its end.
          await drain();
          stage = 'commit';
          await sink.commit([], checkpointOf(pos?.sequenceNumber ?? null, true, pos?.writtenAt));
          return { type: 'finished', lastSequenceNumber: pos?.sequenceNumber ?? null };
        }
        stage = 'get-records';
        let page: RecordsPage;
        try {
          const fetching = prefetched ?? reader.getRecords(iterator, batch.maxRecords, signal);
          prefetched = undefined;
          page = await fetching;
          trims = 0;
        } catch (err) {
          if (err instanceof TrimmedDataError) {
            // GetRecords can report trimming for an iterator whose position is
            // still in the stream (DynamoDB Local does so for a TRIM_HORIZON
            // iterator taken on an empty shard). Only a position that is really
            // gone — GetShardIterator refuses it, or the checkpoint is older
            // than the retention — is escalated to a backfill.
            const stale = pos !== undefined && Date.now() - pos.updatedAt > STREAM_RETENTION_MS;
            if (stale || ++trims > 5) throw err;
            emit({ type: 'iterator-renewed', reason: 'spurious-trim', attempt: trims });
            await sleep(backoffDelay(trims, 100, 2_000), signal);
          } else if (err instanceof IteratorExpiredError) {
            emit({ type: 'iterator-renewed', reason: 'expired', attempt: 1 });
          } else throw err;
          // Iterator expiry (15 min) or a spurious trim: renew from the last
          // committed position, so nothing read but not yet committed is kept.
          await drain();
          pending = emptyTransaction();
          readSeq = pos?.sequenceNumber ?? null;
          stage = 'iterator';
          iterator = await reader.iterator(streamArn, shardId, positionOf(pos), signal);
          continue;
        }
        emit({ type: 'page-read', records: page.records.length, latencyMs: page.latencyMs });
        const { records, nextIterator } = page;
        const ended = nextIterator === undefined;
        const last = records.at(-1);
        const created = last?.dynamodb?.ApproximateCreationDateTime;
        // Catching up (a full page, or records already seconds old) reads on at
        // once; at the head of the stream a short pause lets the next page fill.
        const full = records.length >= batch.maxRecords;
        const behind = created !== undefined && Date.now() - new Date(created).getTime() > 2_000;
        const catchingUp = !ended && records.length > 0 && (full || behind);
        if (catchingUp) {
          // Read the next page while this one is mapped and committed. It is used
          // only if every commit succeeds; after a failure the position comes
          // from the checkpoint.
          prefetched = reader.getRecords(nextIterator, batch.maxRecords, signal);
          prefetched.catch(() => undefined);
        }
        stage = 'mapping';
        const mapped = await mapPage(records);
        if (pending.records > 0 && (pending.records + records.length > maxTxRecords || pending.bytes + mapped.bytes > maxTxBytes)) {
          // The next transaction is full: it commits once the one in flight is done.
          if (!lease.valid()) return { type: 'lost-lease' };
          await drain();
          stage = 'commit';
          startCommit(pending);
          pending = emptyTransaction();
        }
        readSeq = last?.dynamodb?.SequenceNumber ?? readSeq;
        append(pending, mapped, records, readSeq, ended);
        if (pending.records > 0 || ended) {
          if (!catchingUp) {
            // At the head of the stream (or the shard's end): commit what is read, and wait for it.
            if (!lease.valid()) return { type: 'lost-lease' };
            await drain();
            stage = 'commit';
            startCommit(pending);
            pending = emptyTransaction();
            await drain();
          } else if (!inflight || inflight.settled) {
            if (!lease.valid()) return { type: 'lost-lease' };
            await drain();
            stage = 'commit';
            startCommit(pending);
            pending = emptyTransaction();
          }
        }
        // Caught up (or an empty page): no commit may stay unawaited while the
        // worker sleeps, or a failed one would wait for the next records to be noticed.
        if (!catchingUp) await drain();
        faults = 0;
        const iteratorAgeMs = created ? Math.max(0, Date.now() - new Date(created).getTime()) : 0;
        emit({ type: 'polled', caughtUp: records.length === 0 || !(full || behind), iteratorAgeMs, at: Date.now() });
        if (ended) return { type: 'finished', lastSequenceNumber: pos?.sequenceNumber ?? null };
        iterator = nextIterator;
        if (records.length === 0) await sleep(batch.idlePollIntervalMs, signal);
        else if (!full && !behind) await sleep(batch.pollIntervalMs, signal);
      }
      await drain();
      return { type: 'stopped' };
    } finally {
      // Never leave relay() (to recover, or to stop) with a commit still running
      // on the sink: a failed one makes the sink suspect.
      if (inflight) {
        const { promise } = inflight;
        inflight = undefined;
        await promise.catch(() => {
          sinkSuspect = true;
        });
      }
    }
  }

  function checkpointOf(sequenceNumber: string | null, shardEnded: boolean, writtenAt: number | undefined): CheckpointWrite {
    return {
      topic: connector.checkpointTopic,
      key: checkpointKey(table, shardId),
      checkpoint: { sequenceNumber, shardEnded, updatedAt: Date.now(), leaseEpoch: lease.epoch(), ...(writtenAt === undefined ? {} : { writtenAt }) },
    };
  }

  /** Maps a page; records the mapper rejects as data errors come back as dead letters, any throw names its record. */
  async function mapPage(records: _Record[]) {
    const out: OutgoingMessage[] = [];
    const counts = {
      relayed: 0,
      deadLettered: [] as { code: string; reason: string; sequenceNumber: string }[],
      filtered: [] as string[],
      lastWrittenAt: undefined as number | undefined,
    };
    let bytes = 0;
    // The write time of the last record that has one (its written_at, else its stream creation time).
    let writtenAt: number | undefined;
    for (const r of records) {
      const created = r.dynamodb?.ApproximateCreationDateTime;
      const sequenceNumber = r.dynamodb?.SequenceNumber ?? '';
      const image = r.dynamodb?.NewImage as Item | undefined;
      writtenAt = mapper.writtenAtOf(image) ?? (created ? new Date(created).getTime() : writtenAt);
      let result;
      try {
        result = await mapper.map(image, {
          table,
          shardId,
          sequenceNumber,
          eventName: r.eventName ?? '',
          ...(created ? { approximateCreatedAt: new Date(created).getTime() } : {}),
          ...(r.dynamodb?.Keys ? { keys: r.dynamodb.Keys as Item } : {}),
          ...(r.userIdentity ? { userIdentity: r.userIdentity } : {}),
        });
      } catch (err) {
        throw new RecordMappingError(sequenceNumber, err);
      }
      if (result.kind === 'relay' && alreadyRelayed(seam, result.persistenceId, result.sequenceNr)) {
        counts.filtered.push('ALREADY_RELAYED');
        continue;
      }
      if (result.kind !== 'filtered') bytes += messageBytes(result.message);
      if (result.kind === 'removal') {
        out.push(result.message);
        counts.relayed++;
      } else if (result.kind === 'relay') {
        out.push(result.message);
        counts.relayed++;
        if (result.writtenAt !== undefined) counts.lastWrittenAt = result.writtenAt;
      } else if (result.kind === 'dead-letter') {
        out.push(result.message);
        counts.deadLettered.push({ code: result.code, reason: result.reason, sequenceNumber });
      } else {
        counts.filtered.push(result.reason);
      }
    }
    return { out, counts, bytes, writtenAt };
  }
}

/** Where a checkpoint says to read next: AT a repair's resume point, after the last relayed record, or TRIM_HORIZON. */
function positionOf(c: Checkpoint | undefined): StreamPosition {
  if (c?.resumeAt && c.sequenceNumber === null) return { at: c.resumeAt };
  return c?.sequenceNumber;
}

/** Records read but not yet committed: the next transaction. */
interface PendingTransaction {
  out: OutgoingMessage[];
  records: number;
  bytes: number;
  counts: {
    relayed: number;
    deadLettered: { code: string; reason: string; sequenceNumber: string }[];
    filtered: string[];
    lastWrittenAt: number | undefined;
  };
  lastSeq: string | null;
  ended: boolean;
  /** Write time of the last record read that has one (the checkpoint's `writtenAt`). */
  writtenAt: number | undefined;
}

function emptyTransaction(): PendingTransaction {
  return { out: [], records: 0, bytes: 0, counts: { relayed: 0, deadLettered: [], filtered: [], lastWrittenAt: undefined }, lastSeq: null, ended: false, writtenAt: undefined };
}

function append(
  t: PendingTransaction,
  page: { out: OutgoingMessage[]; counts: PendingTransaction['counts']; bytes: number; writtenAt: number | undefined },
  records: readonly unknown[],
  lastSeq: string | null,
  ended: boolean,
): void {
  if (page.writtenAt !== undefined) t.writtenAt = page.writtenAt;
  for (const m of page.out) t.out.push(m);
  t.records += records.length;
  t.bytes += page.bytes;
  t.counts.relayed += page.counts.relayed;
  for (const d of page.counts.deadLettered) t.counts.deadLettered.push(d);
  for (const f of page.counts.filtered) t.counts.filtered.push(f);
  if (page.counts.lastWrittenAt !== undefined) t.counts.lastWrittenAt = page.counts.lastWrittenAt;
  t.lastSeq = lastSeq;
  t.ended = ended;
}

