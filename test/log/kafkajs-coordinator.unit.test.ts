import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/**
 * scripts/patch-kafkajs.mjs (postinstall, patch 5): a group coordinator that
 * moved is looked up again by heartbeats and offset commits, as the Java
 * client does, instead of being asked again and again at the node id found
 * at the last join (kafkajs 2.2.4: the group recovered only when its session
 * expired, 131 s after kill -9 of the coordinator on 3 brokers). The
 * 3-broker case: test/log/conformance/coordinator-failover.cluster.test.ts.
 * These fail on stock kafkajs: the second call goes to the old coordinator.
 */
const require = createRequire(import.meta.url);
const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as new (o: Record<string, unknown>) => {
  coordinator: FakeBroker;
  memberId: string | null;
  generationId: number;
  lastRequest: number;
  offsetManager: { coordinator: FakeBroker } | null;
  heartbeat(o: { interval: number }): Promise<void>;
};
const OffsetManager = require('kafkajs/src/consumer/offsetManager/index.js') as new (o: Record<string, unknown>) => {
  coordinator: FakeBroker;
  commitOffsets(o: { topics: { topic: string; partitions: { partition: number; offset: string }[] }[] }): Promise<void>;
};
const { KafkaJSProtocolError, KafkaJSConnectionError } = require('kafkajs/src/errors.js') as {
  KafkaJSProtocolError: new (e: { type: string; code: number; retriable: boolean; message: string }) => Error;
  KafkaJSConnectionError: new (message: string) => Error;
};
const notCoordinator = () => new KafkaJSProtocolError({ type: 'NOT_COORDINATOR_FOR_GROUP', code: 16, retriable: true, message: 'This is not the correct coordinator for this group' });

interface FakeBroker {
  nodeId: number;
  calls: string[];
  isConnected(): boolean;
  heartbeat(p: unknown): Promise<void>;
  offsetCommit(p: unknown): Promise<void>;
}
function broker(nodeId: number, fail?: () => Error): FakeBroker {
  const calls: string[] = [];
  return {
    nodeId,
    calls,
    isConnected: () => true,
    async heartbeat() {
      calls.push('heartbeat');
      if (fail) throw fail();
    },
    async offsetCommit() {
      calls.push('offsetCommit');
      if (fail) throw fail();
    },
  };
}
const silent = { debug() {}, info() {}, warn() {}, error() {}, namespace: () => silent, setLogLevel() {} };
const emitter = { emit() {} };

describe('kafkajs group coordinator lookup (patched)', () => {
  it('a heartbeat whose coordinator is gone finds the new one and succeeds there; commits follow it', async () => {
    for (const fail of [notCoordinator, () => new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:19092')]) {
      const old = broker(1, fail);
      const next = broker(2);
      const lookups: string[] = [];
      const cluster = { findGroupCoordinator: async ({ groupId }: { groupId: string }) => (lookups.push(groupId), next), refreshMetadata: async () => undefined };
      const group = new ConsumerGroup({ retry: { retries: 0 }, cluster, groupId: 'g', topics: [], topicConfigurations: {}, logger: silent, instrumentationEmitter: emitter, assigners: [], sessionTimeout: 10_000, rebalanceTimeout: 10_000, maxBytesPerPartition: 1, minBytes: 1, maxBytes: 1, maxWaitTimeInMs: 1, autoCommit: false, isolationLevel: 1, rackId: '', metadataMaxAge: 1 });
      group.coordinator = old;
      group.memberId = 'm-1';
      group.generationId = 3;
      group.lastRequest = 0;
      const manager = { coordinator: old };
      group.offsetManager = manager;
      await group.heartbeat({ interval: 0 });
      expect(old.calls).toEqual(['heartbeat']);
      expect(next.calls).toEqual(['heartbeat']);
      expect(lookups).toEqual(['g']);
      expect(group.coordinator).toBe(next);
      expect(manager.coordinator).toBe(next);
    }
  });

  it('an offset commit answered NOT_COORDINATOR sends the next commit to the coordinator as it is now', async () => {
    const old = broker(1, notCoordinator);
    const next = broker(2);
    const cluster = { findGroupCoordinator: async () => next, refreshMetadata: async () => undefined, findBroker: async () => old, committedOffsets: () => ({}) };
    const manager = new OffsetManager({
      cluster, coordinator: old, memberAssignment: { t: [0] }, autoCommit: false, topicConfigurations: {}, instrumentationEmitter: emitter,
      groupId: 'g', generationId: 3, memberId: 'm-1',
    });
    const topics = [{ topic: 't', partitions: [{ partition: 0, offset: '42' }] }];
    await expect(manager.commitOffsets({ topics })).rejects.toThrow(/not the correct coordinator/);
    await manager.commitOffsets({ topics });
    expect(old.calls).toEqual(['offsetCommit']);
    expect(next.calls).toEqual(['offsetCommit']);
  });

  it('other heartbeat errors (a rebalance) are thrown as before, without a lookup', async () => {
    const rebalancing = broker(1, () => new KafkaJSProtocolError({ type: 'REBALANCE_IN_PROGRESS', code: 27, retriable: false, message: 'The group is rebalancing' }));
    let lookups = 0;
    const cluster = { findGroupCoordinator: async () => (lookups++, broker(2)), refreshMetadata: async () => undefined };
    const group = new ConsumerGroup({ retry: { retries: 0 }, cluster, groupId: 'g', topics: [], topicConfigurations: {}, logger: silent, instrumentationEmitter: emitter, assigners: [], sessionTimeout: 10_000, rebalanceTimeout: 10_000, maxBytesPerPartition: 1, minBytes: 1, maxBytes: 1, maxWaitTimeInMs: 1, autoCommit: false, isolationLevel: 1, rackId: '', metadataMaxAge: 1 });
    group.coordinator = rebalancing;
    group.memberId = 'm-1';
    group.lastRequest = 0;
    await expect(group.heartbeat({ interval: 0 })).rejects.toThrow(/rebalancing/);
    expect(lookups).toBe(0);
  });
});
