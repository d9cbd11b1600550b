import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/**
 * kafkajs 2.2.4's producer send (src/producer/sendMessages.js), patched by
 * scripts/patch-kafkajs.mjs, driven through an in-memory cluster: brokers
 * that append to in-memory partition logs, leaders that move when metadata
 * is refreshed. The original recorded acknowledgements per broker: when the
 * leader of a partition whose request failed moved to a broker that had
 * already answered for other partitions, the retry sent nothing for it and
 * the send resolved without it. A full fault run on a 3-broker cluster lost
 * exactly the partition-0 records of one bridge transaction that way, the
 * transaction committing without them.
 */
const require = createRequire(import.meta.url);
type Send = (args: { acks: number; timeout: number; topicMessages: { topic: string; messages: { key: string; value: string }[] }[] }) => Promise<unknown[]>;
const createSendMessages = require('kafkajs/src/producer/sendMessages.js') as (deps: unknown) => Send;
const createRetry = require('kafkajs/src/retry/index.js') as (opts: object) => unknown;
const { createErrorFromCode } = require('kafkajs/src/protocol/error.js') as { createErrorFromCode: (code: number) => Error };
const NOT_LEADER = 6;

interface Appended {
  partition: number;
  firstSequence: number;
  keys: string[];
}

/**
 * Three partitions; `leaders` says who leads each, `moveOnRefresh` who leads
 * after the next metadata refresh. A broker fails (NOT_LEADER) for the
 * partitions it no longer leads, and answers after `delayMs`.
 */
function inMemoryCluster(options: { leaders: Record<number, number>; moveOnRefresh: Record<number, number>; delayMs?: Record<number, number>; firstAttemptFails: number[] }) {
  const leaders = { ...options.leaders };
  const log: Appended[] = [];
  const attempts = new Map<number, number>();
  const broker = (nodeId: number) => ({
    nodeId,
    async produce({ topicData }: { topicData: { topic: string; partitions: { partition: number; firstSequence: number; messages: { key: string }[] }[] }[] }) {
      const n = (attempts.get(nodeId) ?? 0) + 1;
      attempts.set(nodeId, n);
      await new Promise((r) => setTimeout(r, options.delayMs?.[nodeId] ?? 1));
      if (n === 1 && options.firstAttemptFails.includes(nodeId)) throw createErrorFromCode(NOT_LEADER);
      for (const { topic, partitions } of topicData) {
        for (const p of partitions) log.push({ partition: p.partition, firstSequence: p.firstSequence, keys: p.messages.map((m) => m.key) });
        void topic;
      }
      return { topics: topicData.map(({ topic, partitions }) => ({ topicName: topic, partitions: partitions.map((p) => ({ partition: p.partition, errorCode: 0, baseOffset: '0' })) })) };
    },
  });
  const brokers = new Map([1, 2, 3].map((id) => [id, broker(id)]));
  const cluster = {
    targetTopics: new Set<string>(),
    refreshMetadataIfNecessary: async () => undefined,
    refreshMetadata: async () => Object.assign(leaders, options.moveOnRefresh),
    addMultipleTargetTopics: async () => undefined,
    isConnected: () => true,
    removeBroker: () => undefined,
    findTopicPartitionMetadata: () => [0, 1, 2].map((partitionId) => ({ partitionId, leader: leaders[partitionId] })),
    findLeaderForPartitions: (_topic: string, partitions: string[]) => {
      const out: Record<string, number[]> = {};
      for (const p of partitions) (out[String(leaders[Number(p)])] ??= []).push(Number(p));
      return out;
    },
    findBroker: async ({ nodeId }: { nodeId: string }) => brokers.get(Number(nodeId)),
  };
  const sequences = new Map<number, number>();
  const eosManager = {
    acquireBrokerLock: async () => undefined,
    releaseBrokerLock: async () => undefined,
    isTransactional: () => false,
    addPartitionsToTransaction: async () => undefined,
    getSequence: (_t: string, p: number) => sequences.get(p) ?? 0,
    updateSequence: (_t: string, p: number, n: number) => sequences.set(p, (sequences.get(p) ?? 0) + n),
    getProducerId: () => 1,
    getProducerEpoch: () => 0,
    getTransactionalId: () => undefined,
  };
  const logger = { debug: () => undefined, error: () => undefined, info: () => undefined, warn: () => undefined };
  const send = createSendMessages({
    logger,
    cluster,
    eosManager,
    // Keys are "p<partition>-<n>": the partition is in the key.
    partitioner: ({ message }: { message: { key: string } }) => Number(message.key.slice(1, message.key.indexOf('-'))),
    retrier: createRetry({ retries: 5, initialRetryTime: 5, maxRetryTime: 20 }),
  });
  return { send, log };
}

const messages = [0, 1, 2].flatMap((p) => [0, 1, 2].map((n) => ({ key: `p${p}-${n}`, value: 'v' })));
const appendedOnce = (log: Appended[]) => {
  const keys = log.flatMap((a) => a.keys).sort();
  return { keys, unique: new Set(keys).size };
};

describe('kafkajs producer send retries (patched)', () => {
  it('sends the partition whose leader moved to a broker that already answered', async () => {
    // Broker 2 led partition 0 and failed; after the refresh broker 1, which had answered for 1 and 2, leads it.
    const { send, log } = inMemoryCluster({ leaders: { 0: 2, 1: 1, 2: 1 }, moveOnRefresh: { 0: 1 }, firstAttemptFails: [2] });
    await send({ acks: -1, timeout: 1000, topicMessages: [{ topic: 't', messages }] });
    const { keys, unique } = appendedOnce(log);
    expect(keys).toEqual(messages.map((m) => m.key).sort());
    expect(unique).toBe(messages.length);
  });

  it('does not send again what a slower broker is still acknowledging', async () => {
    // Broker 1 answers after 60 ms; broker 2 fails at once. Retrying before broker 1 answered sent its partitions twice.
    const { send, log } = inMemoryCluster({ leaders: { 0: 2, 1: 1, 2: 1 }, moveOnRefresh: {}, delayMs: { 1: 60 }, firstAttemptFails: [2] });
    await send({ acks: -1, timeout: 1000, topicMessages: [{ topic: 't', messages }] });
    const { keys, unique } = appendedOnce(log);
    expect(unique).toBe(messages.length);
    expect(keys).toHaveLength(messages.length);
    // Each partition's batch went once, with the first sequence of an unbroken run.
    expect(log.map((a) => [a.partition, a.firstSequence]).sort()).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
    ]);
  });
});
