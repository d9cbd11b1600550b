import type { Admin, ITopicConfig } from 'kafkajs';
import { PipelineError } from '../shared/errors.js';
import { sleep } from '../shared/retry.js';

/**
 * The topics one bridge connector writes: the event topic, its dead-letter
 * topic and the shared checkpoint topic. Broker-side auto creation is off in
 * every environment we run, so they are created explicitly; existing topics
 * are left as they are (partition counts are never changed behind the
 * consumers' back, since that would move keys between partitions).
 */
export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Compacted topics keep the last value per key (checkpoints). */
  compacted?: boolean;
}

/**
 * Creates the topics of `specs` that do not exist yet, each with
 * `replicationFactor` replicas (TOPIC_REPLICATION_FACTOR: there is no default,
 * so that no caller creates a single-replica topic on a cluster by
 * forgetting it). Returns the names it created.
 */
export async function ensureTopicSpecs(admin: Admin, specs: TopicSpec[], replicationFactor: number): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return [];
  await createTopicsAndWait(admin, missing.map((s) => topicConfigOf(s, replicationFactor)));
  return missing.map((s) => s.topic);
}

/** The CreateTopics entry of a spec. */
export function topicConfigOf(spec: TopicSpec, replicationFactor: number): ITopicConfig {
  return {
    topic: spec.topic,
    numPartitions: spec.partitions,
    replicationFactor,
    configEntries: spec.compacted
      ? [
          { name: 'cleanup.policy', value: 'compact' },
          // Checkpoints are rewritten every batch: let the cleaner keep the topic small.
          { name: 'segment.ms', value: String(15 * 60_000) },
          { name: 'min.cleanable.dirty.ratio', value: '0.1' },
        ]
      : [],
  };
}

/** Metadata errors a broker answers while a just-created topic propagates to its metadata cache. */
const PROPAGATING = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/**
 * Creates topics (existing ones are left alone) and returns once every
 * partition has a leader. kafkajs' own `waitForLeaders` retries only
 * LEADER_NOT_AVAILABLE, but a KRaft broker answers UNKNOWN_TOPIC_OR_PARTITION
 * for a moment after creating a topic (its metadata cache lags the
 * controller), and kafkajs gives up on that: a first producer or consumer
 * would then fail. Here both count as "not yet", for at most `timeoutMs`.
 */
export async function createTopicsAndWait(admin: Admin, topics: ITopicConfig[], timeoutMs = 30_000): Promise<void> {
  try {
    await admin.createTopics({ topics, waitForLeaders: false });
  } catch (err) {
    throw await creationError(admin, topics, err);
  }
  const names = topics.map((t) => t.topic);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const md = await admin.fetchTopicMetadata({ topics: names });
      const ready = md.topics.length === names.length && md.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      if (ready) return;
    } catch (err) {
      if (!PROPAGATING.has((err as { type?: string }).type ?? '')) throw err;
    }
    if (Date.now() > deadline) {
      throw new PipelineError('KAFKA_TOPICS_NOT_READY', `topics ${names.join(', ')} have no leader ${timeoutMs} ms after creation`, { retriable: true });
    }
    await sleep(100);
  }
}

/**
 * kafkajs reports a refused creation as "Topic creation errors" with the bare
 * error codes inside; an operator needs the topics, the codes and — for the
 * usual mistake, more replicas than live brokers — both numbers. Retriable:
 * on a cluster with a broker down, the same request succeeds once it is back.
 */
async function creationError(admin: Admin, topics: ITopicConfig[], err: unknown): Promise<unknown> {
  const inner = (err as { errors?: { topic?: string; type?: string; message?: string }[] }).errors;
  if (!Array.isArray(inner)) return err;
  const rf = (t: string) => topics.find((c) => c.topic === t)?.replicationFactor;
  let brokers: number | undefined;
  if (inner.some((e) => e.type === 'INVALID_REPLICATION_FACTOR')) brokers = (await admin.describeCluster().catch(() => undefined))?.brokers.length;
  const parts = inner.map((e) =>
    e.type === 'INVALID_REPLICATION_FACTOR'
      ? `${e.topic}: INVALID_REPLICATION_FACTOR — asked for ${rf(e.topic ?? '') ?? 'the broker default of'} replicas, ${brokers ?? 'an unknown number of'} live broker(s) (TOPIC_REPLICATION_FACTOR)`
      : `${e.topic}: ${e.type ?? 'error'} (${e.message ?? ''})`,
  );
  return new PipelineError('KAFKA_TOPIC_CREATION_FAILED', `creating topics failed: ${parts.join('; ')}`, { retriable: true, cause: err });
}
