import path from 'node:path';
import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import { describe, expect, it } from 'vitest';
import type { Checkpoint, CheckpointReader } from '../../src/log/checkpoints.js';
import { ProducerFencedError, SinkFailedError, type CheckpointWrite, type OutgoingMessage, type ShardSink } from '../../src/log/relay-producer.js';
import { loadConnector } from '../../src/source/connector.js';
import type { RecordMapper } from '../../src/source/mapping.js';
import { runShard, STREAM_RETENTION_MS, type ShardEvent } from '../../src/source/shard-worker.js';
import { TrimmedDataError, type RecordsPage, type StreamReader } from '../../src/source/stream-reader.js';

// runShard against in-memory implementations of the project's own ports
// (stream reader, sink, checkpoint reader): the recovery paths that real
// servers produce only by chance.
const connector = loadConnector(path.resolve(import.meta.dirname, '../../connectors/journal.json'));
connector.batch = { maxRecords: 1000, pollIntervalMs: 0, idlePollIntervalMs: 0 };

const seq = (n: number) => String(n).padStart(21, '0');
const rec = (n: number): _Record => ({ eventName: 'INSERT', dynamodb: { SequenceNumber: seq(n), NewImage: { n: { N: String(n) } } } });

/** A shard with records 1..total, served `pageSize` at a time; closed (no next iterator) after the last when `closed`. */
function fakeStream(total: number, options: { pageSize?: number; closed?: boolean; trimOnce?: boolean; trimAlways?: boolean } = {}) {
  const { pageSize = 3, closed = false } = options;
  let trimmed = !options.trimOnce;
  const iterators: (string | null | undefined)[] = [];
  const reader: StreamReader = {
    describeShards: async () => [],
    async iterator(_arn, _shard, after) {
      iterators.push(after);
      return `it:${after ? Number(after) : 0}`;
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
function fakeKafka(failOn: (n: number) => Error | undefined = () => undefined) {
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

const mapper: RecordMapper = {
  map: async (image, origin) => ({
    kind: 'relay',
    message: { topic: 't', key: image!.n!.N!, value: Buffer.alloc(0), headers: { stream_sequence_number: origin.sequenceNumber } },
    persistenceId: 'p',
    sequenceNr: Number(image!.n!.N),
    writtenAt: undefined,
  }),
};

/** Runs the worker; resolves to the outcome's type (the full outcome is the last event). */
async function run(
  reader: StreamReader,
  kafka: ReturnType<typeof fakeKafka>,
  extra: { leaseValid?: () => boolean; stopAfterMs?: number; events?: ShardEvent[] } = {},
) {
  const controller = new AbortController();
  if (extra.stopAfterMs !== undefined) setTimeout(() => controller.abort(), extra.stopAfterMs);
  const outcome = await runShard({
    connector,
    shard: { streamArn: 'arn', shardId: 's' },
    ports: { reader, mapper, checkpoints: kafka.checkpoints, openSink: async () => kafka.sink },
    lease: { valid: extra.leaseValid ?? (() => true), epoch: () => 7 },
    signal: controller.signal,
    ...(extra.events ? { observe: (e: ShardEvent) => extra.events!.push(e) } : {}),
  });
  return outcome.type;
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('shard worker', () => {
  it('relays a closed shard to its end, each page with its checkpoint, and marks SHARD_END', async () => {
    const k = fakeKafka();
    expect(await run(fakeStream(10, { closed: true }).reader, k)).toBe('finished');
    expect(k.topic).toEqual(range(1, 10));
    expect(k.committed.get('s')).toMatchObject({ sequenceNumber: seq(10), shardEnded: true, leaseEpoch: 7 });
  });

  it('after a failed transaction re-initialises the producer, re-reads the checkpoint and resumes after it: nothing lost, nothing doubled', async () => {
    const k = fakeKafka((n) => (n === 2 || n === 3 ? new SinkFailedError('CONCURRENT_TRANSACTIONS', new Error('x')) : undefined));
    const s = fakeStream(12, { closed: true });
    expect(await run(s.reader, k)).toBe('finished');
    expect(k.topic).toEqual(range(1, 12));
    expect(k.stats().resets).toBe(2);
    // Resumed AFTER_SEQUENCE_NUMBER of the committed checkpoint each time.
    expect(s.iterators).toEqual([undefined, seq(3), seq(3)]);
  });

  it('catching up, it reads the next full page while the current one commits, and drops that page if the commit fails', async () => {
    const k = fakeKafka((n) => (n === 2 ? new SinkFailedError('OUT_OF_ORDER_SEQUENCE_NUMBER', new Error('x')) : undefined));
    const s = fakeStream(3500, { pageSize: 1000, closed: true });
    expect(await run(s.reader, k)).toBe('finished');
    expect(k.topic).toEqual(range(1, 3500));
    expect(s.iterators).toEqual([undefined, seq(1000)]);
  });

  it('a fenced producer whose lease is gone stops without writing', async () => {
    let valid = true;
    const k = fakeKafka((n) => {
      if (n !== 2) return undefined;
      valid = false;
      return new ProducerFencedError('tx', new Error('fenced'));
    });
    expect(await run(fakeStream(12).reader, k, { leaseValid: () => valid })).toBe('lost-lease');
    expect(k.topic).toEqual(range(1, 3));
    expect(k.stats().resets).toBe(0);
  });

  it('stops before committing once the lease is no longer valid', async () => {
    let checks = 0;
    const k = fakeKafka();
    expect(await run(fakeStream(100).reader, k, { leaseValid: () => ++checks < 4 })).toBe('lost-lease');
    expect(k.topic).toEqual(range(1, 3));
  });

  it('a spurious trim on a live position renews the iterator instead of backfilling', async () => {
    const k = fakeKafka();
    expect(await run(fakeStream(6, { closed: true, trimOnce: true }).reader, k)).toBe('finished');
    expect(k.topic).toEqual(range(1, 6));
  });

  it('a trim with a checkpoint older than the retention is returned as the outcome "trimmed" (the bridge backfills)', async () => {
    const k = fakeKafka();
    k.committed.set('s', { sequenceNumber: seq(2), shardEnded: false, updatedAt: Date.now() - STREAM_RETENTION_MS - 1, leaseEpoch: 1 });
    const events: ShardEvent[] = [];
    expect(await run(fakeStream(6, { trimAlways: true }).reader, k, { events })).toBe('trimmed');
    expect(events.at(-1)).toEqual({ type: 'trimmed', after: seq(2) });
    expect(k.topic).toEqual([]);
  });

  it('a shard whose checkpoint says SHARD_END is not read again', async () => {
    const k = fakeKafka();
    k.committed.set('s', { sequenceNumber: seq(5), shardEnded: true, updatedAt: Date.now(), leaseEpoch: 1 });
    const s = fakeStream(6);
    expect(await run(s.reader, k)).toBe('finished');
    expect(s.iterators).toEqual([]);
  });

  it('stops between batches when the signal aborts', async () => {
    const k = fakeKafka();
    expect(await run(fakeStream(1_000_000, { pageSize: 1 }).reader, k, { stopAfterMs: 50 })).toBe('stopped');
    expect(k.topic).toEqual(range(1, k.topic.length));
  });
});
