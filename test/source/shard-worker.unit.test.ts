import { describe, expect, it } from 'vitest';
import { ProducerFencedError, SinkFailedError, type CheckpointWrite, type OutgoingMessage } from '../../src/log/relay-producer.js';
import { initialShardStatus, reduceShardStatus } from '../../src/source/shard-state.js';
import { STREAM_RETENTION_MS, type ShardEvent } from '../../src/source/shard-worker.js';
import { connector, fakeKafka, fakeStream, run, seq } from './shard-fakes.js';

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

  it('catching up, pages read while a transaction commits form the next one (group commit): whole pages, in order, checkpoints only forward, capped', async () => {
    const k = fakeKafka();
    const sizes: number[] = [];
    const checkpoints: (string | null)[] = [];
    const slow = {
      ...k.sink,
      async commit(messages: OutgoingMessage[], c: CheckpointWrite) {
        sizes.push(messages.length);
        checkpoints.push(c.checkpoint.sequenceNumber);
        await new Promise((r) => setTimeout(r, 20));
        await k.sink.commit(messages, c);
      },
    };
    const s = fakeStream(12_500, { pageSize: 500, closed: true });
    connector.batch = { ...connector.batch, maxRecords: 500, maxTransactionRecords: 2_000 };
    try {
      expect(await run(s.reader, k, { openSink: async () => slow })).toBe('finished');
    } finally {
      connector.batch = { maxRecords: 1000, pollIntervalMs: 0, idlePollIntervalMs: 0 };
    }
    expect(k.topic).toEqual(range(1, 12_500));
    expect(sizes.length).toBeLessThan(25);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2_000);
    for (const n of sizes) expect(n % 500).toBe(0);
    expect(checkpoints).toEqual([...checkpoints].sort());
    expect(k.committed.get('s')).toMatchObject({ sequenceNumber: seq(12_500), shardEnded: true });
  });

  it('a failed group commit drops every page read after it and resumes from the checkpoint: nothing lost, nothing doubled', async () => {
    const k = fakeKafka((n) => (n === 2 ? new SinkFailedError('REQUEST_TIMED_OUT', new Error('x')) : undefined));
    const slow = {
      ...k.sink,
      async commit(messages: OutgoingMessage[], c: CheckpointWrite) {
        await new Promise((r) => setTimeout(r, 10));
        await k.sink.commit(messages, c);
      },
    };
    const s = fakeStream(6_000, { pageSize: 1000, closed: true });
    expect(await run(s.reader, k, { openSink: async () => slow })).toBe('finished');
    expect(k.topic).toEqual(range(1, 6_000));
    expect(k.stats().resets).toBe(1);
    // Re-positioned after the first transaction's checkpoint, not after the pages read since.
    expect(s.iterators).toEqual([undefined, seq(1000)]);
  });

  it('a group commit that fails just as the stream goes quiet is retried at once, not when the next records come', async () => {
    const k = fakeKafka((n) => (n === 1 ? new SinkFailedError('REQUEST_TIMED_OUT', new Error('x')) : undefined));
    const slow = {
      ...k.sink,
      async commit(messages: OutgoingMessage[], c: CheckpointWrite) {
        await new Promise((r) => setTimeout(r, 10));
        await k.sink.commit(messages, c);
      },
    };
    // An open shard: one full page (read on at once), then nothing new.
    expect(await run(fakeStream(1_000, { pageSize: 1000 }).reader, k, { openSink: async () => slow, stopAfterMs: 1_500 })).toBe('stopped');
    expect(k.topic).toEqual(range(1, 1_000));
    expect(k.stats().resets).toBe(1);
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

  it('emits its life as events: positioned, pages, commits, caught-up at the head of an open shard, stopped last', async () => {
    const k = fakeKafka();
    const events: ShardEvent[] = [];
    let caughtUp = false;
    const observe = (e: ShardEvent) => {
      if (e.type === 'polled' && e.caughtUp) caughtUp = true;
    };
    expect(await run(fakeStream(5).reader, k, { events, observe, stopAfterMs: 300 })).toBe('stopped');
    expect(caughtUp).toBe(true);
    expect(events[0]).toEqual({ type: 'positioned', after: null, resumed: false });
    expect(events.at(-1)).toEqual({ type: 'stopped' });
    const folded = events.reduce(reduceShardStatus, initialShardStatus('s'));
    expect(folded).toMatchObject({ state: 'stopped', relayed: 5, lastSequenceNumber: seq(5), faults: 0 });
    expect(k.topic).toEqual(range(1, 5));
  });
});
