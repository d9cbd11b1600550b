import {
  DescribeStreamCommand,
  type StreamDescription,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
  type _Record,
} from '@aws-sdk/client-dynamodb-streams';
import { PipelineError } from '../shared/errors.js';
import { backoffDelay, sleep } from '../shared/retry.js';
import { readWireBody, recordsFromWire, type WireGetRecords } from './get-records-wire.js';
import { collectShards, type ShardInfo, type ShardPage } from './shard-lineage.js';

/**
 * DynamoDB Streams reads with the service's limits honoured: DescribeStream
 * pages of ≤ 100 shards at ≤ 10 calls/s, GetRecords ≤ 1,000 records, and
 * throttling (LimitExceededException, ProvisionedThroughputExceeded) answered
 * with full-jitter backoff until the caller's signal aborts.
 */

/** DynamoDB Streams keeps records for 24 hours. */
export const STREAM_RETENTION_MS = 24 * 3600_000;

/** The shard iterator expired (15 min) or was otherwise refused: renew it from the checkpoint. */
export class IteratorExpiredError extends PipelineError {
  constructor(cause: unknown) {
    super('ITERATOR_EXPIRED', 'shard iterator expired', { retriable: true, cause });
  }
}

/** The requested position is older than the stream's 24 h retention: the table must be backfilled. */
export class TrimmedDataError extends PipelineError {
  constructor(shardId: string, cause: unknown) {
    super('STREAM_TRIMMED', `shard ${shardId}: requested records were trimmed from the stream (older than 24 h)`, {
      retriable: false,
      cause,
    });
  }
}

export interface RecordsPage {
  records: _Record[];
  /** Absent when the shard is closed and fully read (SHARD_END). */
  nextIterator: string | undefined;
  latencyMs: number;
}

export interface StreamReaderHooks {
  onThrottle?: (operation: string) => void;
  onGetRecords?: (latencyMs: number) => void;
}

const THROTTLES = new Set(['LimitExceededException', 'ProvisionedThroughputExceededException', 'ThrottlingException']);

/** A sequence number to read after, `{ at }` one to read at, or null / undefined for TRIM_HORIZON. */
export type StreamPosition = string | null | undefined | { at: string };

export interface StreamReader {
  describeShards(streamArn: string, signal?: AbortSignal): Promise<ShardInfo[]>;
  /** AFTER_SEQUENCE_NUMBER of the checkpoint, AT_SEQUENCE_NUMBER of a repair's resume point, or TRIM_HORIZON. */
  iterator(streamArn: string, shardId: string, position: StreamPosition, signal?: AbortSignal): Promise<string | undefined>;
  getRecords(iterator: string, limit: number, signal?: AbortSignal): Promise<RecordsPage>;
}

export function createStreamReader(options: { streams: DynamoDBStreamsClient; hooks?: StreamReaderHooks; maxBackoffMs?: number }): StreamReader {
  const { streams, hooks = {}, maxBackoffMs = 5_000 } = options;

  /** Retries throttling forever (it is the service asking us to slow down), other errors propagate. */
  async function throttled<T>(operation: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const name = (err as { name?: string }).name ?? '';
        if (!THROTTLES.has(name) || signal?.aborted) throw err;
        hooks.onThrottle?.(operation);
        await sleep(backoffDelay(Math.min(attempt, 10), 100, maxBackoffMs), signal);
      }
    }
  }

  return {
    async describeShards(streamArn, signal) {
      let last = 0;
      return collectShards(async (exclusiveStartShardId) => {
        // DescribeStream allows 10 calls/s per account: space the pages out.
        const wait = last + 100 - Date.now();
        if (wait > 0) await sleep(wait, signal);
        last = Date.now();
        const out = await throttled(
          'DescribeStream',
          () => streams.send(new DescribeStreamCommand({ StreamArn: streamArn, Limit: 100, ExclusiveStartShardId: exclusiveStartShardId })),
          signal,
        );
        return toShardPage(out.StreamDescription);
      });
    },

    async iterator(streamArn, shardId, position, signal) {
      const type =
        typeof position === 'string'
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, SequenceNumber: position }
          : position
            ? { ShardIteratorType: 'AT_SEQUENCE_NUMBER' as const, SequenceNumber: position.at }
            : { ShardIteratorType: 'TRIM_HORIZON' as const };
      try {
        const out = await throttled(
          'GetShardIterator',
          () =>
            streams.send(
              new GetShardIteratorCommand({
                StreamArn: streamArn,
                ShardId: shardId,
                ...type,
              }),
            ),
          signal,
        );
        return out.ShardIterator;
      } catch (err) {
        if ((err as { name?: string }).name === 'TrimmedDataAccessException') throw new TrimmedDataError(shardId, err);
        throw err;
      }
    },

    async getRecords(iterator, limit, signal) {
      const started = performance.now();
      try {
        let wire: WireGetRecords | undefined;
        const out = await throttled(
          'GetRecords',
          () =>
            streams.send(
              readWireBody(new GetRecordsCommand({ ShardIterator: iterator, Limit: Math.min(limit, 1000) }), (body) => (wire = body)),
            ),
          signal,
        );
        const latencyMs = performance.now() - started;
        hooks.onGetRecords?.(latencyMs);
        if (wire) return { ...recordsFromWire(wire), latencyMs };
        return { records: out.Records ?? [], nextIterator: out.NextShardIterator ?? undefined, latencyMs };
      } catch (err) {
        const name = (err as { name?: string }).name;
        if (name === 'ExpiredIteratorException') throw new IteratorExpiredError(err);
        if (name === 'TrimmedDataAccessException') throw new TrimmedDataError('(iterator)', err);
        throw err;
      }
    },
  };
}

/** One DescribeStream answer as the lineage planner's page (pure; unit-tested with recorded pages). */
export function toShardPage(d: StreamDescription | undefined): ShardPage {
  return {
    shards: (d?.Shards ?? []).map((s) => ({
      shardId: s.ShardId!,
      ...(s.ParentShardId ? { parentShardId: s.ParentShardId } : {}),
      ...(s.SequenceNumberRange?.StartingSequenceNumber ? { startingSequenceNumber: s.SequenceNumberRange.StartingSequenceNumber } : {}),
      ...(s.SequenceNumberRange?.EndingSequenceNumber ? { endingSequenceNumber: s.SequenceNumberRange.EndingSequenceNumber } : {}),
    })),
    ...(d?.LastEvaluatedShardId ? { lastEvaluatedShardId: d.LastEvaluatedShardId } : {}),
  };
}
