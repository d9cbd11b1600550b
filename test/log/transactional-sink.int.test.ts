import type { Admin, Kafka } from 'kafkajs';
import { readCommittedToEnd } from '../helpers/read-to-end.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckpointReader, decodeCheckpoint } from '../../src/log/checkpoints.js';
import { partitionForKey } from '../../src/log/partitioner.js';
import { createTransactionalSink, ProducerFencedError, SinkFailedError, type OutgoingMessage, type ShardSink } from '../../src/log/relay-producer.js';
import { createTopicsAndWait } from '../../src/log/topics.js';
import { SINK_CLIENTS, kafkaWithSink, sinkClientAvailable } from '../helpers/sink-clients.js';
import { kafka as plainKafka, testLogger, uniqueName } from '../helpers/stack.js';

/**
 * The bridge's transactional sink (ShardSink), one contract for every client
 * (BRIDGE_KAFKA_CLIENT), against the real broker. Records are read back with
 * kafkajs consumers, as the checkpoint reader does: read_committed for what
 * the pipeline may see, read_uncommitted to prove that an aborted transaction
 * did reach the log (so that "nothing visible" is not "nothing sent").
 */

interface Read {
  partition: number;
  key: string;
  value: string;
}

/** Every record of `topic` up to its end offsets at the call, with read_committed or not. */
async function readAll(k: Kafka, topic: string, readUncommitted: boolean): Promise<Read[]> {
  const out: Read[] = [];
  await readCommittedToEnd({
    kafka: k,
    topic,
    groupId: uniqueName('sink-read'),
    readUncommitted,
    onMessage: (partition, message) => out.push({ partition, key: message.key?.toString() ?? '', value: message.value?.toString() ?? '' }),
    ready: () => true,
    timeoutMs: 60_000,
  });
  return out;
}

/** The client's own error under ours, for a failed expectation's message. */
const causeOf = (err: unknown) => {
  const cause = (err as { cause?: { message?: unknown; code?: unknown; type?: unknown } } | undefined)?.cause;
  return `${String(err)}; cause: ${String(cause?.message)} (code ${String(cause?.code)}, type ${String(cause?.type)})`;
};

const messages = (topic: string, prefix: string, n: number): OutgoingMessage[] =>
  Array.from({ length: n }, (_, i) => ({
    topic,
    key: `${prefix}-${i % 7}`,
    value: Buffer.from(`${prefix}:${i}`),
    headers: { sequence_nr: String(i + 1), event_type: 'StockReceived' },
  }));

const checkpoint = (topic: string, key: string, sequenceNumber: string) => ({
  topic,
  key,
  checkpoint: { sequenceNumber, shardEnded: false, updatedAt: Date.now(), leaseEpoch: 1 },
});

const admin: Admin = plainKafka('sink-admin').admin();
const topics: string[] = [];
beforeAll(() => admin.connect());
afterAll(async () => {
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
});

async function freshTopics(maxMessageBytes?: number) {
  const topic = uniqueName('sink');
  const checkpoints = `${topic}.checkpoints`;
  topics.push(topic, checkpoints);
  await createTopicsAndWait(admin, [
    { topic, numPartitions: 3, ...(maxMessageBytes ? { configEntries: [{ name: 'max.message.bytes', value: String(maxMessageBytes) }] } : {}) },
    { topic: checkpoints, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
  ]);
  return { topic, checkpoints };
}

describe.each(SINK_CLIENTS)('transactional sink on %s', (client) => {
  const available = sinkClientAvailable(client);
  const k = available ? kafkaWithSink(client, `sink-${client}`) : undefined;
  const sinks: ShardSink[] = [];
  const open = async (transactionalId: string) => {
    const s = await createTransactionalSink({ kafka: k!, transactionalId, logger: testLogger });
    sinks.push(s);
    return s;
  };
  afterAll(async () => {
    await Promise.all(sinks.map((s) => s.close().catch(() => undefined)));
  });

  it('commits the records and the checkpoint in one transaction: read_committed sees both, each key on its murmur2 partition', async () => {
    const { topic, checkpoints } = await freshTopics();
    const sink = await open(uniqueName('sink-tx'));
    const out = messages(topic, 'ok', 50);
    await sink.commit(out, checkpoint(checkpoints, 'tbl/shard-1', '50'));

    const read = await readAll(plainKafka('sink-read'), topic, false);
    expect(read.map((r) => r.value).sort()).toEqual(out.map((m) => String(m.value)).sort());
    for (const r of read) expect(r.partition, `partition of ${r.key}`).toBe(partitionForKey(r.key, 3));
    // Per key, in the order sent.
    for (const key of new Set(read.map((r) => r.key))) {
      const seq = read.filter((r) => r.key === key).map((r) => Number(r.value.split(':')[1]));
      expect(seq).toEqual([...seq].sort((a, b) => a - b));
    }
    const cps = await createCheckpointReader({ kafka: plainKafka('sink-cp'), topic: checkpoints, logger: testLogger }).read('tbl');
    expect(cps.get('shard-1')?.sequenceNumber).toBe('50');
  });

  it('a transaction interrupted by a broker-side failure is aborted: nothing of it is visible to read_committed, though it reached the log; the reset sink commits again', async () => {
    // Batches over 2 KiB are refused by the broker for this topic only: the small records on the other
    // partitions and the checkpoint are written, the big one's partition fails, the transaction must abort.
    const { topic, checkpoints } = await freshTopics(2048);
    const sink = await open(uniqueName('sink-tx'));
    const small = messages(topic, 'lost', 30);
    const big: OutgoingMessage = { topic, key: 'big', value: Buffer.alloc(8192, 'x'), headers: {} };
    const failure = await sink.commit([...small, big], checkpoint(checkpoints, 'tbl/shard-1', '31')).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure, causeOf(failure)).toBeInstanceOf(SinkFailedError);

    const uncommitted = [...(await readAll(plainKafka('sink-read'), topic, true)), ...(await readAll(plainKafka('sink-read'), checkpoints, true))];
    expect(uncommitted.length, 'records of the aborted transaction in the log (read_uncommitted)').toBeGreaterThan(0);
    expect(await readAll(plainKafka('sink-read'), topic, false)).toEqual([]);
    expect(await readAll(plainKafka('sink-read'), checkpoints, false)).toEqual([]);

    await sink.reset();
    await sink.commit(messages(topic, 'after', 10), checkpoint(checkpoints, 'tbl/shard-1', '10'));
    const committed = await readAll(plainKafka('sink-read'), topic, false);
    expect(committed.map((r) => r.value).sort()).toEqual(messages(topic, 'after', 10).map((m) => String(m.value)).sort());
    const cps = (await readAll(plainKafka('sink-read'), checkpoints, false)).map((r) => decodeCheckpoint(Buffer.from(r.value)).sequenceNumber);
    expect(cps).toEqual(['10']);
  });

  it('a producer fenced by a newer one with its transactional id cannot commit; nothing it sent is visible; the newer one commits', async () => {
    const { topic, checkpoints } = await freshTopics();
    const transactionalId = uniqueName('sink-tx');
    const old = await open(transactionalId);
    await old.commit(messages(topic, 'before', 5), checkpoint(checkpoints, 'tbl/shard-1', '5'));
    const newer = await open(transactionalId);
    const failure = await old.commit(messages(topic, 'zombie', 20), checkpoint(checkpoints, 'tbl/shard-1', 'zombie')).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure, causeOf(failure)).toBeInstanceOf(ProducerFencedError);
    await newer.commit(messages(topic, 'newer', 5), checkpoint(checkpoints, 'tbl/shard-1', '10'));

    const values = (await readAll(plainKafka('sink-read'), topic, false)).map((r) => r.value.split(':')[0]);
    expect(values.filter((v) => v === 'zombie')).toEqual([]);
    expect(values.filter((v) => v === 'before')).toHaveLength(5);
    expect(values.filter((v) => v === 'newer')).toHaveLength(5);
    const cps = (await readAll(plainKafka('sink-read'), checkpoints, false)).map((r) => decodeCheckpoint(Buffer.from(r.value)).sequenceNumber);
    expect(cps).toEqual(['5', '10']);
  });
});
