import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/events/schema-store.js';
import { silentLogger } from '../../src/shared/logger.js';
import { createBridgeMetrics } from '../../src/source/bridge-metrics.js';
import type { RecordMapper } from '../../src/source/mapping.js';
import { createShardObserver } from '../../src/source/shard-observer.js';
import type { ShardEvent } from '../../src/source/shard-worker.js';
import { TrimmedDataError, type StreamReader } from '../../src/source/stream-reader.js';
import { fakeKafka, fakeStream, mapper, run, seq } from './shard-fakes.js';

// The three failure classes of a shard worker, against in-memory ports:
// transient faults are retried from the committed checkpoint, programming
// errors stop the shard at once (never retried), trimmed data is an outcome.
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const types = (events: ShardEvent[]) => events.map((e) => e.type);

/** The mapper of the fakes, throwing `error()` for the record at `n` while `error` returns one. */
function failingMapper(n: number, error: () => Error | undefined) {
  const calls = new Map<string, number>();
  const m: RecordMapper = {
    async map(image, origin) {
      calls.set(origin.sequenceNumber, (calls.get(origin.sequenceNumber) ?? 0) + 1);
      const err = origin.sequenceNumber === seq(n) ? error() : undefined;
      if (err) throw err;
      return mapper.map(image, origin);
    },
    writtenAtOf: () => undefined,
  };
  return { mapper: m, calls };
}

/** Wraps a reader so that chosen calls throw. */
function withFaults(reader: StreamReader, faults: { getRecords?: (n: number) => Error | undefined; iterator?: (n: number) => Error | undefined }) {
  let gets = 0;
  let iterators = 0;
  return {
    ...reader,
    async iterator(...args: Parameters<StreamReader['iterator']>) {
      const err = faults.iterator?.(++iterators);
      if (err) throw err;
      return reader.iterator(...args);
    },
    async getRecords(...args: Parameters<StreamReader['getRecords']>) {
      const err = faults.getRecords?.(++gets);
      if (err) throw err;
      return reader.getRecords(...args);
    },
  } satisfies StreamReader;
}

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED', $metadata: {} });

describe('shard worker failure classes', () => {
  it('a TypeError from mapping is never retried: the shard fails at that record, the page before it stays committed', async () => {
    const k = fakeKafka();
    const m = failingMapper(5, () => new TypeError("Cannot read properties of undefined (reading 'S')"));
    const events: ShardEvent[] = [];
    expect(await run(fakeStream(12, { closed: true }).reader, k, { mapper: m.mapper, events })).toBe('failed');
    expect(m.calls.get(seq(5))).toBe(1);
    expect(k.topic).toEqual(range(1, 3));
    expect(k.committed.get('s')?.sequenceNumber).toBe(seq(3));
    expect(types(events)).not.toContain('transient-fault');
    expect(events.at(-1)).toMatchObject({ type: 'failed', stage: 'mapping', sequenceNumber: seq(5) });
  });

  it('the observer turns the failure into the status "failed", a failure metric and the stopped shard the bridge reports', async () => {
    const registry = new Registry();
    const observer = createShardObserver({ shardId: 's', table: 't', metrics: createBridgeMetrics(registry), logger: silentLogger() });
    const m = failingMapper(2, () => new ReferenceError('planner is not defined'));
    await run(fakeStream(6).reader, fakeKafka(), { mapper: m.mapper, observe: observer.observe });
    expect(observer.status()).toMatchObject({ shardId: 's', state: 'failed', relayed: 0, lastError: 'mapping record 000000000000000000002 failed: planner is not defined' });
    const failures = await registry.getSingleMetric('cdc_bridge_shard_failures_total')!.get();
    expect(failures.values).toEqual([{ value: 1, labels: { table: 't', shard: 's', stage: 'mapping' } }]);
  });

  it('a registry outage while mapping is transient: the page is read again from the checkpoint and relayed once', async () => {
    const k = fakeKafka();
    let outages = 2;
    const m = failingMapper(4, () => (outages-- > 0 ? new RegistryError('registry GET /schemas failed: fetch failed') : undefined));
    const events: ShardEvent[] = [];
    expect(await run(fakeStream(9, { closed: true }).reader, k, { mapper: m.mapper, events })).toBe('finished');
    expect(k.topic).toEqual(range(1, 9));
    expect(events.filter((e) => e.type === 'transient-fault').map((e) => (e as { stage: string }).stage)).toEqual(['mapping', 'mapping']);
    expect(events.filter((e) => e.type === 'positioned').map((e) => (e as { resumed: boolean }).resumed)).toEqual([false, true, true]);
    // No commit failed, so the producer was not re-initialised.
    expect(k.stats().resets).toBe(0);
  });

  it('DynamoDB unavailable (connection refused, a garbled answer) is retried until it answers; nothing lost or doubled', async () => {
    const k = fakeKafka();
    const garbled = () => Object.assign(new SyntaxError('Unexpected token < in JSON at position 0'), { $responseBodyText: '<html>' });
    const s = fakeStream(10, { closed: true });
    const reader = withFaults(s.reader, {
      getRecords: (n) => (n === 2 ? refused() : n === 3 ? garbled() : undefined),
      iterator: (n) => (n === 2 ? refused() : undefined),
    });
    const events: ShardEvent[] = [];
    expect(await run(reader, k, { events })).toBe('finished');
    expect(k.topic).toEqual(range(1, 10));
    expect(events.filter((e) => e.type === 'transient-fault').map((e) => (e as { attempt: number }).attempt)).toEqual([1, 2, 3]);
  });

  it('Kafka unavailable when the producer is opened is retried; the sink is opened again, not assumed', async () => {
    const k = fakeKafka();
    let opens = 0;
    const openSink = async () => {
      if (++opens <= 2) throw Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name: 'KafkaJSConnectionError' });
      return k.sink;
    };
    const events: ShardEvent[] = [];
    expect(await run(fakeStream(4, { closed: true }).reader, k, { openSink, events })).toBe('finished');
    expect(opens).toBe(3);
    expect(k.topic).toEqual(range(1, 4));
    expect(events.slice(0, 2)).toMatchObject([
      { type: 'transient-fault', stage: 'open-sink', attempt: 1 },
      { type: 'transient-fault', stage: 'open-sink', attempt: 2 },
    ]);
  });

  it('a TypeError from our own reading code fails the shard too (stage named), without a retry', async () => {
    const k = fakeKafka();
    let gets = 0;
    const reader = withFaults(fakeStream(10).reader, {
      getRecords: (n) => {
        gets = n;
        return n === 2 ? new TypeError("Cannot read properties of undefined (reading 'Records')") : undefined;
      },
    });
    const events: ShardEvent[] = [];
    expect(await run(reader, k, { events })).toBe('failed');
    expect(gets).toBe(2);
    expect(events.at(-1)).toMatchObject({ type: 'failed', stage: 'get-records', sequenceNumber: seq(3) });
  });

  it('GetShardIterator refusing the checkpoint (trimmed) is the returned outcome "trimmed", not retried', async () => {
    const k = fakeKafka();
    let calls = 0;
    const reader = withFaults(fakeStream(10).reader, { iterator: () => (++calls, new TrimmedDataError('s', new Error('TrimmedDataAccessException'))) });
    expect(await run(reader, k)).toBe('trimmed');
    expect(calls).toBe(1);
  });

  it('retries a transient fault only while the lease is held', async () => {
    const k = fakeKafka();
    let valid = true;
    const reader = withFaults(fakeStream(10).reader, {
      getRecords: (n) => {
        if (n < 2) return undefined;
        if (n >= 3) valid = false;
        return refused();
      },
    });
    expect(await run(reader, k, { leaseValid: () => valid })).toBe('lost-lease');
    expect(k.topic).toEqual(range(1, 3));
  });
});
