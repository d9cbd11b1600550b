import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineError } from '../../src/shared/errors.js';
import { ensureTopicSpecs } from '../../src/log/topics.js';
import { kafka, uniqueName } from '../helpers/stack.js';

/**
 * The replication factor reaches the broker: on whatever stack this runs
 * (one broker, or `stack.sh up --brokers 3`), a topic asked with as many
 * replicas as there are brokers gets them on every broker, and one asked
 * with more is refused with an error that names the topic and both numbers
 * — not kafkajs' bare "Topic creation errors".
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
