import path from 'node:path';
import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import type { Checkpoint, CheckpointReader } from '../../src/log/checkpoints.js';
import type { CheckpointWrite, OutgoingMessage, ShardSink } from '../../src/log/relay-producer.js';
import { loadConnector } from '../../src/source/connector.js';
import type { RecordMapper } from '../../src/source/mapping.js';
import { runShard, type ShardEvent } from '../../src/source/shard-worker.js';
import { TrimmedDataError, type RecordsPage, type StreamPosition, type StreamReader } from '../../src/source/stream-reader.js';

// runShard against in-memory implementations of the project's own ports
// (stream reader, sink, checkpoint reader): the recovery paths that real
// servers produce only by chance.
export const connector = loadConnector(path.resolve(import.meta.dirname, '../../connectors/journal.json'));
connector.batch = { maxRecords: 1000, pollIntervalMs: 0, idlePollIntervalMs: 0 };

export const seq = (n: number) => String(n).padStart(21, '0');
export const rec = (n: number): _Record => ({ eventName: 'INSERT', dynamodb: { SequenceNumber: seq(n), NewImage: { n: { N: String(n) } } } });

/** A shard with records 1..total, served `pageSize` at a time; closed (no next iterator) after the last when `closed`. */
export function fakeStream(total: number, options: { pageSize?: number; closed?: boolean; trimOnce?: boolean; trimAlways?: boolean } = {}) {
  const { pageSize = 3, closed = false } = options;
  let trimmed = !options.trimOnce;
  const iterators: StreamPosition[] = [];
  const reader: StreamReader = {
    describeShards: async () => [],
    async iterator(_arn, _shard, position) {
      iterators.push(position);
      // AT n is AFTER n - 1.
      return `it:${typeof position === 'string' ? Number(position) : position ? Number(position.at) - 1 : 0}`;
    },
    async getRecords(iterator): Promise<RecordsPage> {
      if (options.trimAlways || !trimmed) {
        trimmed = true;
        throw new TrimmedDataError('s', new Error('trimmed'));
      }
      const from = Number(iterator.slice(3));
      const records = Array.from({ length: Math.max(0, Math.min(pageSize, total - from)) }, (_, i) => rec(from + i + 1));
      const at = from + records.length;
      return { records, nextIterator: closed && at >= total ? undefined : `it:${at}`, latencyMs: 1 };
    },
  };
  return { reader, iterators };
}

/** A sink whose commits are atomic in memory; `failOn` makes chosen commits throw. */
export function fakeKafka(failOn: (n: number) => Error | undefined = () => undefined) {
  const topic: number[] = [];
  const committed = new Map<string, Checkpoint>();
  let commits = 0;
  let resets = 0;
  const sink: ShardSink = {
    transactionalId: 'tx',
    async commit(messages: OutgoingMessage[], c: CheckpointWrite) {
      const err = failOn(++commits);
      if (err) throw err;
      topic.push(...messages.map((m) => Number(m.key)));
      committed.set(c.key.split('/')[1]!, c.checkpoint);
    },
    reset: async () => void resets++,
    close: async () => undefined,
  };
  const checkpoints: CheckpointReader = { read: async () => new Map(committed) };
  return { sink, checkpoints, topic, committed, stats: () => ({ commits, resets }) };
}

export const mapper: RecordMapper = {
  map: async (image, origin) => ({
    kind: 'relay',
    message: { topic: 't', key: image!.n!.N!, value: Buffer.alloc(0), headers: { stream_sequence_number: origin.sequenceNumber } },
    persistenceId: 'p',
    sequenceNr: Number(image!.n!.N),
    writtenAt: undefined,
  }),
  writtenAtOf: () => undefined,
};

/** Runs the worker; resolves to the outcome's type (the full outcome is the last event). */
export async function run(
  reader: StreamReader,
  kafka: ReturnType<typeof fakeKafka>,
  extra: {
    leaseValid?: () => boolean;
    stopAfterMs?: number;
    events?: ShardEvent[];
    observe?: (e: ShardEvent) => void;
    mapper?: RecordMapper;
    openSink?: () => Promise<ShardSink>;
  } = {},
) {
  const controller = new AbortController();
  if (extra.stopAfterMs !== undefined) setTimeout(() => controller.abort(), extra.stopAfterMs);
  const outcome = await runShard({
    connector,
    shard: { streamArn: 'arn', shardId: 's' },
    ports: { reader, mapper: extra.mapper ?? mapper, checkpoints: kafka.checkpoints, openSink: extra.openSink ?? (async () => kafka.sink) },
    lease: { valid: extra.leaseValid ?? (() => true), epoch: () => 7 },
    signal: controller.signal,
    observe: (e: ShardEvent) => {
      extra.events?.push(e);
      extra.observe?.(e);
    },
  });
  return outcome.type;
}
