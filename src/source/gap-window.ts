import type { Checkpoint } from '../log/checkpoints.js';
import type { Item } from './attributes.js';
import type { RecordMapper } from './mapping.js';
import { STREAM_RETENTION_MS } from './shard-worker.js';
import { TrimmedDataError, type StreamPosition, type StreamReader } from './stream-reader.js';

/**
 * Where a table read (gap repair, first-start backfill) starts and stops,
 * from what the checkpoints and the stream say. All times are `written_at`
 * (the connector's write-time attribute; a record without one counts by its
 * stream creation time).
 *
 * The skew allowance is the assumption everything rests on: an item written
 * before another (in real time) carries a write time at most `skewMs` later
 * than the other's. Then:
 *  - every write after a shard's last relayed record R has a write time
 *    ≥ t(R) − skew, so the repair starts at `from` = t(R) − skew;
 *  - every write the stream no longer holds came before the first record S0
 *    it still holds (trimming goes by age), so it has a write time
 *    ≤ t(S0) + skew: the read stops at `to` = t(S0) + skew, and what comes
 *    later is the stream's;
 *  - every write the stream still holds (or a live shard has not relayed
 *    yet) has a write time ≥ t(S0) − skew: what the read relays from
 *    `seamFrom` on may come again through the stream, and goes into the seam
 *    (src/source/seam.ts) so that the stream skips it.
 */
export interface GapWindow {
  /** 0: from the table's beginning (first start). */
  from: number;
  to: number;
  seamFrom: number;
}

/** The first record a shard holds at a position, or why there is none. */
export type ShardHead =
  | { shardId: string; state: 'record'; sequenceNumber: string; writtenAt: number }
  /** Open, nothing to read there yet. */
  | { shardId: string; state: 'empty' }
  /** Closed and read to its end from there (or gone from the stream). */
  | { shardId: string; state: 'ended' }
  /** The position is older than the retention. */
  | { shardId: string; state: 'trimmed' };

/**
 * Reads the first record at `position` (GetShardIterator + at most a few
 * GetRecords: an old shard can answer empty pages before its first record).
 */
export async function probeHead(o: {
  reader: StreamReader;
  mapper: Pick<RecordMapper, 'writtenAtOf'>;
  streamArn: string;
  shardId: string;
  position: StreamPosition;
  signal?: AbortSignal;
  maxPages?: number;
}): Promise<ShardHead> {
  const { reader, streamArn, shardId, signal, maxPages = 10 } = o;
  let iterator: string | undefined;
  try {
    iterator = await reader.iterator(streamArn, shardId, o.position, signal);
  } catch (err) {
    if (err instanceof TrimmedDataError) return { shardId, state: 'trimmed' };
    throw err;
  }
  for (let page = 0; page < maxPages; page++) {
    if (iterator === undefined) return { shardId, state: 'ended' };
    let records;
    try {
      ({ records, nextIterator: iterator } = await reader.getRecords(iterator, 100, signal));
    } catch (err) {
      // DynamoDB Local answers a TRIM_HORIZON iterator of an empty shard as trimmed.
      if (err instanceof TrimmedDataError && (o.position === null || o.position === undefined)) return { shardId, state: 'empty' };
      if (err instanceof TrimmedDataError) return { shardId, state: 'trimmed' };
      throw err;
    }
    const first = records[0];
    if (first) {
      const created = first.dynamodb?.ApproximateCreationDateTime;
      const writtenAt = o.mapper.writtenAtOf(first.dynamodb?.NewImage as Item | undefined) ?? (created ? new Date(created).getTime() : Date.now());
      return { shardId, state: 'record', sequenceNumber: first.dynamodb?.SequenceNumber ?? '', writtenAt };
    }
  }
  return { shardId, state: iterator === undefined ? 'ended' : 'empty' };
}

/** Where a trimmed shard's missed writes begin (before the skew): its last record's write time, else the oldest its checkpoint can be. */
export function gapStartOf(c: Checkpoint): number {
  // A checkpoint of an older release has no write time: its last record was read at most a retention before it was committed.
  return c.writtenAt ?? c.updatedAt - STREAM_RETENTION_MS;
}

/**
 * The window of a table read (pure).
 * @param trimmed checkpoints of the shards whose positions are gone (none: a first start, from the beginning)
 * @param resumeHeads where the stream resumes: the first record of each trimmed shard and of each shard without a checkpoint
 * @param liveHeads the first unrelayed record of every other shard
 */
export function planWindow(o: { trimmed: readonly Checkpoint[]; resumeHeads: readonly ShardHead[]; liveHeads: readonly ShardHead[]; skewMs: number; now: number }): GapWindow {
  const { skewMs } = o;
  const times = (heads: readonly ShardHead[]) => heads.flatMap((h) => (h.state === 'record' ? [h.writtenAt] : []));
  // Trimming goes by age: the earliest record the stream still holds bounds what it lost, on every shard.
  const resume = times(o.resumeHeads);
  const horizon = resume.length > 0 ? Math.min(...resume) : o.now;
  const from = o.trimmed.length > 0 ? Math.max(0, Math.min(...o.trimmed.map(gapStartOf)) - skewMs) : 0;
  const seamFrom = Math.max(0, Math.min(horizon, ...times(o.liveHeads)) - skewMs);
  return { from, to: horizon + skewMs, seamFrom };
}
