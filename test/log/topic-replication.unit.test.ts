import type { Admin, ITopicConfig } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ensureDlqTopics } from '../../src/consumers/dead-letter.js';
import { loadConnector } from '../../src/source/connector.js';
import { ensureTopics } from '../../src/source/bridge.js';
import { BROKER_DEFAULT_REPLICATION } from '../../src/log/topics.js';

/**
 * Every topic the pipeline creates — a connector's event topic, its DLQ and
 * the compacted checkpoint topic; each consumer group's DLQs — carries the
 * replication factor it is given (TOPIC_REPLICATION_FACTOR), never a
 * built-in 1; without one, CreateTopics asks for the broker's default (-1).
 * Against an admin that records what it is asked to create.
 */
function recordingAdmin(existing: string[] = []) {
  const created: ITopicConfig[] = [];
  const fake: Partial<Admin> = {
    listTopics: async () => [...existing, ...created.map((t) => t.topic)],
    createTopics: async ({ topics }) => {
      created.push(...topics);
      return true;
    },
    fetchTopicMetadata: async (o) => ({
      topics: (o?.topics ?? []).map((name) => ({ name, partitions: [{ partitionId: 0, leader: 1, replicas: [1], isr: [1], offlineReplicas: [], partitionErrorCode: 0 }] })),
    }),
  };
  return { admin: fake as Admin, created };
}

describe('topics are created with the configured replication factor', () => {
  const connector = loadConnector('connectors/journal.json');

  it('a connector: event topic, DLQ and checkpoint topic', async () => {
    const { admin, created } = recordingAdmin();
    const made = await ensureTopics(admin, connector, { replicationFactor: 3 });
    expect([...made].sort()).toEqual([connector.topic, connector.dlqTopic, connector.checkpointTopic].sort());
    expect(created.map((t) => [t.topic, t.replicationFactor])).toEqual(made.map((t) => [t, 3]));
    const checkpoint = created.find((t) => t.topic === connector.checkpointTopic)!;
    expect(checkpoint.configEntries).toContainEqual({ name: 'cleanup.policy', value: 'compact' });
  });

  it('only the missing ones, with the same factor', async () => {
    const { admin, created } = recordingAdmin([connector.topic]);
    await ensureTopics(admin, connector, { replicationFactor: 2 });
    expect(created.map((t) => t.topic).sort()).toEqual([connector.dlqTopic, connector.checkpointTopic].sort());
    expect(created.every((t) => t.replicationFactor === 2)).toBe(true);
  });

  it("unset: every topic asks for the brokers' default.replication.factor (-1), not 1", async () => {
    const { admin, created } = recordingAdmin();
    await ensureTopics(admin, connector, { replicationFactor: undefined });
    await ensureDlqTopics(admin, ['a.events'], 'g', undefined);
    expect(created).toHaveLength(4);
    expect(created.every((t) => t.replicationFactor === BROKER_DEFAULT_REPLICATION)).toBe(true);
  });

  it("a consumer group's DLQ topics", async () => {
    const { admin, created } = recordingAdmin();
    await ensureDlqTopics(admin, ['a.events', 'b.events'], 'g', 3);
    expect(created.map((t) => [t.topic, t.replicationFactor])).toEqual([
      ['a.events.dlq.g', 3],
      ['b.events.dlq.g', 3],
    ]);
  });
});
