import type { Checkpoint, CheckpointReader } from '../log/checkpoints.js';
import type { ShardSink } from '../log/relay-producer.js';
import { backoffDelay, sleep } from '../shared/retry.js';
import type { ConnectorConfig } from './connector.js';
import { createGroupCommit, type ShardCursor } from './group-commit.js';
import type { Item } from './attributes.js';
import type { RecordMapper } from './mapping.js';
import { mapPage, noRecords, type MappedPage } from './page-mapper.js';
import { seamOf } from './seam.js';
import { inStage, type ShardEvent, type ShardOutcome } from './shard-state.js';
import { IteratorExpiredError, STREAM_RETENTION_MS, TrimmedDataError, type RecordsPage, type StreamPosition, type StreamReader } from './stream-reader.js';

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

export interface ShardRef {
  streamArn: string;
  shardId: string;
  parentShardId?: string | undefined;
  startingSequenceNumber?: string | undefined;
}

export interface RelayPassContext {
  connector: Pick<ConnectorConfig, 'table' | 'checkpointTopic' | 'batch'>;
  shard: ShardRef;
  ports: Omit<ShardPorts, 'openSink'>;
  /** Opened, or reset after a failure, by the worker. */
  sink: ShardSink;
  /** Called when a commit failed after the pass stopped waiting for it: the sink must be reset before its next use. */
  sinkFailed: () => void;
  lease: ShardLease;
  signal: AbortSignal;
  cursor: ShardCursor;
  /** True when an earlier pass of this worker was positioned (this one resumes after a fault). */
  resumed: boolean;
  emit: (event: ShardEvent) => void;
}

/**
 * One relay pass over a shard: positions at the committed checkpoint, then
 * for each GetRecords page reads it, maps it, adds it to the pending
 * transaction and commits (group-commit.ts), until the shard is relayed to
 * its end, the lease is lost or the signal stops it. A fault ends the pass:
 * it is thrown tagged with the step it happened in (a StageFault), and the
 * worker resumes from the committed checkpoint, dropping whatever was read
 * since. Catching up (a full page, or records already seconds old), the next
 * page is read while this one is mapped and committed; at the head of the
 * stream each page commits, and is waited for, before the next is read.
 */
export async function relayPass(ctx: RelayPassContext): Promise<ShardOutcome> {
  const { connector, shard, ports, lease, signal, cursor, emit } = ctx;
  const { table, batch } = connector;
  const { streamArn, shardId } = shard;

  const all = await inStage('checkpoint', () => ports.checkpoints.read(table));
  cursor.committed = startOf(all, shard);
  if (cursor.committed?.shardEnded) return finished();
  const seam = seamOf(all);
  const iteratorAtCheckpoint = () => inStage('iterator', () => ports.reader.iterator(streamArn, shardId, positionOf(cursor.committed), signal));
  let iterator = await inStage('iterator', async () => {
    const it = await iteratorAtCheckpoint();
    emit({ type: 'positioned', after: cursor.committed?.sequenceNumber ?? null, resumed: ctx.resumed });
    return it;
  });

  const commits = createGroupCommit({
    sink: ctx.sink,
    checkpoint: { topic: connector.checkpointTopic, table, shardId },
    lease,
    cursor,
    limits: { records: batch.maxTransactionRecords ?? 5_000, bytes: batch.maxTransactionBytes ?? 4 * 1024 * 1024 },
    emit,
  });
  let prefetched: Promise<ReadPage> | undefined;
  let trims = 0;
  /** GetRecords, stamped with when it was asked and when its answer arrived (a prefetched page may wait before it is mapped). */
  const getRecords = (it: string): Promise<ReadPage> => {
    const requestedAt = Date.now();
    return ports.reader.getRecords(it, batch.maxRecords, signal).then((page) => ({ ...page, requestedAt, readAt: Date.now() }));
  };

  /** Read: the next page, or undefined when the iterator must be renewed from the checkpoint. */
  const read = (it: string) =>
    inStage('get-records', async (): Promise<ReadPage | undefined> => {
      const fetching = prefetched ?? getRecords(it);
      prefetched = undefined;
      try {
        const page = await fetching;
        trims = 0;
        emit({ type: 'page-read', records: page.records.length, latencyMs: page.latencyMs });
        return page;
      } catch (err) {
        if (err instanceof IteratorExpiredError) {
          emit({ type: 'iterator-renewed', reason: 'expired', attempt: 1 });
          return undefined;
        }
        if (!(err instanceof TrimmedDataError)) throw err;
        // GetRecords can report trimming for an iterator whose position is still
        // in the stream (DynamoDB Local does so for a TRIM_HORIZON iterator taken
        // on an empty shard). Only a position that is really gone — GetShardIterator
        // refuses it, or the checkpoint is older than the retention — is escalated.
        const stale = cursor.committed !== undefined && Date.now() - cursor.committed.updatedAt > STREAM_RETENTION_MS;
        if (stale || ++trims > 5) throw err;
        emit({ type: 'iterator-renewed', reason: 'spurious-trim', attempt: trims });
        await sleep(backoffDelay(trims, 100, 2_000), signal);
        return undefined;
      }
    });

  /** Renew: from the committed position, so nothing read but not yet committed is kept. */
  const renew = async () => {
    await commits.drain();
    commits.discard();
    return iteratorAtCheckpoint();
  };

  /** Map: the page's records as messages, dead letters and counts. */
  const map = (page: ReadPage) => inStage('mapping', () => mapPage(page.records, { mapper: ports.mapper, table, shardId, seam, readAt: page.readAt }));

  /** Add the mapped page to the pending transaction, then commit as the pace says; false when the lease is lost. */
  const addAndCommit = async (mapped: MappedPage, page: RecordsPage, pace: Pace): Promise<boolean> => {
    // A full pending transaction commits once the one in flight is done.
    if (commits.overflows(mapped) && !(await commits.commit({ wait: false }))) return false;
    commits.add(mapped, page.records.at(-1)?.dynamodb?.SequenceNumber, pace.ended);
    if (commits.pendingRecords() > 0 || pace.ended) {
      // At the head of the stream (or the shard's end): commit what is read; the pause waits for it.
      // Catching up: start as soon as no commit runs; pages read meanwhile join the next one.
      if (!pace.catchingUp && !(await commits.commit({ wait: false }))) return false;
      if (pace.catchingUp && !commits.committing() && !(await commits.commit({ wait: false }))) return false;
    }
    return true;
  };

  /**
   * After a page at the head of the stream: wait for its commit — no commit may
   * stay unawaited while the worker sleeps, or a failed one would wait for the
   * next records to be noticed — then report the poll, and read again once the
   * poll interval has passed since this page was asked for (the commit's time
   * counts towards it; DynamoDB Streams serves 5 GetRecords a second per shard).
   */
  const pause = async (page: ReadPage, pace: Pace) => {
    if (!pace.catchingUp) await commits.drain();
    emit({ type: 'polled', caughtUp: !pace.readOn, iteratorAgeMs: pace.createdAt === undefined ? 0 : Math.max(0, Date.now() - pace.createdAt), at: Date.now() });
    if (pace.ended || pace.readOn) return;
    const interval = page.records.length === 0 ? batch.idlePollIntervalMs : batch.pollIntervalMs;
    // Even when the interval has passed: a timer turn, so a stop or a lease expiry can be seen.
    await sleep(Math.max(0, page.requestedAt + interval - Date.now()), signal);
  };

  try {
    while (!signal.aborted) {
      if (!lease.valid()) return { type: 'lost-lease' };
      if (iterator === undefined) {
        // A closed shard read to its end: its last checkpoint says so.
        commits.add(noRecords(), undefined, true);
        if (!(await commits.commit({ wait: true }))) return { type: 'lost-lease' };
        return finished();
      }
      const page = await read(iterator);
      if (page === undefined) {
        iterator = await renew();
        continue;
      }
      const pace = paceOf(page, batch.maxRecords, ports.mapper);
      if (pace.catchingUp) {
        // Used only if every commit succeeds; after a failure the position comes from the checkpoint.
        prefetched = getRecords(page.nextIterator!);
        prefetched.catch(() => undefined);
      }
      const mapped = await map(page);
      if (!(await addAndCommit(mapped, page, pace))) return { type: 'lost-lease' };
      await inStage('get-records', () => pause(page, pace));
      if (pace.ended) return finished();
      iterator = page.nextIterator;
    }
    await commits.drain();
    return { type: 'stopped' };
  } finally {
    // Never leave the pass (to recover, or to stop) with a commit still running
    // on the sink: a failed one makes the sink suspect.
    if (!(await commits.settle())) ctx.sinkFailed();
  }

  function finished(): ShardOutcome {
    return { type: 'finished', lastSequenceNumber: cursor.committed?.sequenceNumber ?? null };
  }
}

type ReadPage = RecordsPage & { requestedAt: number; readAt: number };

/** How a page sets the pace: read on at once (a full page, or records already seconds old), or pause at the head of the stream. */
interface Pace {
  ended: boolean;
  /** A full page, or its last record was written over 2 s ago. */
  readOn: boolean;
  /** Reading on with records to commit: the next page is read while this one commits. */
  catchingUp: boolean;
  /** ApproximateCreationDateTime of the page's last record (ms). */
  createdAt: number | undefined;
}

/**
 * How old a page's last record is comes from its journal write time when the
 * connector maps one: ApproximateCreationDateTime is rounded down to the
 * second by DynamoDB and to the minute by DynamoDB Local, where it would make
 * every page look seconds behind.
 */
function paceOf(page: RecordsPage, maxRecords: number, mapper: Pick<RecordMapper, 'writtenAtOf'>): Pace {
  const { records, nextIterator } = page;
  const ended = nextIterator === undefined;
  const last = records.at(-1)?.dynamodb;
  const created = last?.ApproximateCreationDateTime;
  const createdAt = created === undefined ? undefined : new Date(created).getTime();
  const writtenAt = mapper.writtenAtOf(last?.NewImage as Item | undefined) ?? createdAt;
  const full = records.length >= maxRecords;
  const behind = writtenAt !== undefined && Date.now() - writtenAt > 2_000;
  const readOn = records.length > 0 && (full || behind);
  return { ended, readOn, catchingUp: !ended && readOn, createdAt };
}

/**
 * Where a pass starts: the shard's committed checkpoint; for a child of a
 * shard relayed here that has none, AT its first position rather than
 * TRIM_HORIZON — if the stream trimmed its first records while nobody read it
 * (a long outage right after its parent ended), GetShardIterator says so and
 * the gap is repaired instead of skipped.
 */
function startOf(all: ReadonlyMap<string, Checkpoint>, shard: ShardRef): Checkpoint | undefined {
  const c = all.get(shard.shardId);
  const parent = shard.parentShardId ? all.get(shard.parentShardId) : undefined;
  if (c || !parent || !shard.startingSequenceNumber) return c;
  return { sequenceNumber: null, shardEnded: false, updatedAt: Date.now(), leaseEpoch: 0, resumeAt: shard.startingSequenceNumber, ...(parent.writtenAt === undefined ? {} : { writtenAt: parent.writtenAt }) };
}

/** Where a checkpoint says to read next: AT a repair's resume point, after the last relayed record, or TRIM_HORIZON. */
function positionOf(c: Checkpoint | undefined): StreamPosition {
  if (c?.resumeAt && c.sequenceNumber === null) return { at: c.resumeAt };
  return c?.sequenceNumber;
}
