import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineError } from '../../src/shared/errors.js';
import kafkajs from 'kafkajs';
import { describeReplication, ensureTopicSpecs, replicationWarnings } from '../../src/log/topics.js';
import { kafka, uniqueName } from '../helpers/stack.js';

/**
 * The replication factor reaches the broker: on whatever stack this runs
 * (one broker, or `stack.sh up --brokers 3`), a topic asked with as many
 * replicas as there are brokers gets them on every broker, and one asked
 * with more is refused with an error that names the topic and both numbers
 * — not kafkajs' bare "Topic creation errors". Without a factor the topic
 * gets the broker's default.replication.factor (1 on the single-node stack,
 * 3 on `--brokers 3`), and describeReplication reads back what it got.
 */
describe('TOPIC_REPLICATION_FACTOR against a real broker', () => {
  let admin: Admin;
  let brokers: number;
  const made: string[] = [];

  beforeAll(async () => {
    admin = kafka('replication').admin();
    await admin.connect();
    brokers = (await admin.describeCluster()).brokers.length;
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: made }).catch(() => undefined);
    await admin.disconnect();
  });

  it('creates every partition with the asked number of replicas', async () => {
    const topic = uniqueName('rf.events');
    made.push(topic);
    await ensureTopicSpecs(admin, [{ topic, partitions: 2 }], brokers);
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(md.topics[0]!.partitions.map((p) => p.replicas.length)).toEqual([brokers, brokers]);
  });

  it("unset: the topic gets the brokers' default.replication.factor, and describeReplication says so", async () => {
    const topic = uniqueName('rf-default.events');
    made.push(topic);
    const cluster = await admin.describeCluster();
    const configs = await admin.describeConfigs({
      resources: [{ type: kafkajs.ConfigResourceTypes.BROKER, name: String(cluster.brokers[0]!.nodeId), configNames: ['default.replication.factor', 'min.insync.replicas'] }],
      includeSynonyms: false,
    });
    const brokerConfig = (name: string) => Number(configs.resources[0]!.configEntries.find((e) => e.configName === name)!.configValue);
    expect(await ensureTopicSpecs(admin, [{ topic, partitions: 2 }], undefined)).toEqual([topic]);
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(md.topics[0]!.partitions.map((p) => p.replicas.length)).toEqual([brokerConfig('default.replication.factor'), brokerConfig('default.replication.factor')]);

    const described = await describeReplication(admin, [topic]);
    expect(described).toEqual({
      brokers,
      topics: [{ topic, replicationFactor: brokerConfig('default.replication.factor'), minInsyncReplicas: brokerConfig('min.insync.replicas') }],
    });
    // The stack's brokers are configured as docs/operating/cluster.md recommends: nothing to warn about on either shape.
    expect(replicationWarnings(described)).toEqual([]);
  });

  it('refuses more replicas than brokers with a clear, retriable error', async () => {
    const topic = uniqueName('rf-too-many.events');
    const err = await ensureTopicSpecs(admin, [{ topic, partitions: 1 }], brokers + 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineError);
    expect((err as PipelineError).code).toBe('KAFKA_TOPIC_CREATION_FAILED');
    expect((err as PipelineError).retriable).toBe(true);
    expect((err as Error).message).toContain(`${topic}: INVALID_REPLICATION_FACTOR — asked for ${brokers + 1} replicas, ${brokers} live broker(s)`);
    expect(await admin.listTopics()).not.toContain(topic);
  });
});
