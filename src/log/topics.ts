// Default import: kafkajs is CommonJS and Node's ESM loader does not expose ConfigResourceTypes as a named export.
import kafkajs, { type ITopicConfig } from 'kafkajs';
import type { LogAdmin as Admin } from './port.js';
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
 * `replicationFactor` replicas (TOPIC_REPLICATION_FACTOR); undefined asks
 * for the brokers' `default.replication.factor` (see
 * {@link BROKER_DEFAULT_REPLICATION}), so that no caller creates a
 * single-replica topic on a cluster by forgetting it. Returns the names it
 * created; {@link describeReplication} says what they (and the others) got.
 */
export async function ensureTopicSpecs(admin: Admin, specs: TopicSpec[], replicationFactor: number | undefined): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return [];
  await createTopicsAndWait(admin, missing.map((s) => topicConfigOf(s, replicationFactor)));
  return missing.map((s) => s.topic);
}

/**
 * CreateTopics' "the broker's default" (KIP-464, brokers ≥ 2.4). kafkajs
 * speaks CreateTopics v3, where the field is documented as explicit only, but
 * Kafka 3.9 and Redpanda apply `default.replication.factor` for -1 in every
 * version (test/log/topic-replication.int.test.ts checks it on the stack).
 */
export const BROKER_DEFAULT_REPLICATION = -1;

/** The CreateTopics entry of a spec; undefined replicas = the broker's default. */
export function topicConfigOf(spec: TopicSpec, replicationFactor: number | undefined): ITopicConfig {
  return {
    topic: spec.topic,
    numPartitions: spec.partitions,
    replicationFactor: replicationFactor ?? BROKER_DEFAULT_REPLICATION,
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
/** How long a topic known to exist may be unknown to the broker asked (the brokers' caches catch up in well under a second). */
const PROPAGATION_MS = 30_000;

/** Runs `call` again while it fails with a propagation error, for at most `ms`; other errors at once. */
export async function whilePropagating<T>(call: () => Promise<T>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!PROPAGATING.has((err as { type?: string }).type ?? '') || Date.now() >= deadline) throw err;
      await sleep(200);
    }
  }
}

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

/** What a topic got: the fewest replicas of any of its partitions, and its min.insync.replicas. */
export interface TopicReplication {
  topic: string;
  replicationFactor: number;
  minInsyncReplicas: number | undefined;
}

export interface ClusterReplication {
  brokers: number;
  topics: TopicReplication[];
}

/** Reads back the replication of `topics` (existing ones only) and the cluster's size. */
export async function describeReplication(admin: Admin, topics: string[]): Promise<ClusterReplication> {
  const brokers = (await admin.describeCluster()).brokers.length;
  if (topics.length === 0) return { brokers, topics: [] };
  // The topics exist (listed, or created a moment ago), but the broker kafkajs asks next may not know a new
  // one yet: its metadata cache lags the controller, and kafkajs gives up on Metadata or DescribeConfigs
  // answering UNKNOWN_TOPIC_OR_PARTITION (setup failed so 4 times in 8 on the stack's 3 brokers).
  const md = await whilePropagating(() => admin.fetchTopicMetadata({ topics }), PROPAGATION_MS);
  const configs = await readTopicConfigs(admin, topics, ['min.insync.replicas'], { propagatingMs: PROPAGATION_MS });
  const minIsr = new Map(topics.map((name) => {
    const value = configs.get(name)?.get('min.insync.replicas');
    return [name, value === undefined ? undefined : Number(value)] as const;
  }));
  const byName = new Map(md.topics.map((t) => [t.name, t]));
  return {
    brokers,
    // In the order asked (metadata answers in the broker's order).
    topics: topics.flatMap((name) => {
      const t = byName.get(name);
      if (!t) return [];
      return [{ topic: name, replicationFactor: Math.min(...t.partitions.map((p) => p.replicas.length)), minInsyncReplicas: minIsr.get(name) }];
    }),
  };
}

/** Below this many brokers a cluster cannot hold three replicas: nothing to warn about. */
const CLUSTER_BROKERS = 3;

/**
 * The topics whose replication a cluster of three or more brokers should not
 * run with, each with why: fewer than 3 replicas (a broker loss leaves one
 * copy, or none), or fewer than min.insync.replicas + 1 (a broker loss stops
 * every acks=all write, the bridge's transactions included). A smaller
 * cluster gets no warning: it cannot do better. Pure: callers log or print.
 */
export function replicationWarnings(cluster: ClusterReplication): string[] {
  if (cluster.brokers < CLUSTER_BROKERS) return [];
  return cluster.topics.flatMap((t) => {
    const why: string[] = [];
    if (t.replicationFactor < 3) why.push('fewer than 3');
    if (t.minInsyncReplicas !== undefined && t.replicationFactor < t.minInsyncReplicas + 1) {
      why.push(`not above min.insync.replicas=${t.minInsyncReplicas}, so losing one broker stops its writes`);
    }
    if (why.length === 0) return [];
    return [
      `${t.topic}: ${t.replicationFactor} replica(s) on a cluster of ${cluster.brokers} brokers (${why.join('; ')}). ` +
        'New topics: set TOPIC_REPLICATION_FACTOR or the brokers\' default.replication.factor; an existing topic: kafka-reassign-partitions',
    ];
  });
}

/**
 * Topic configuration values (`retention.ms`, `min.insync.replicas`, ...) of
 * the given topics: per topic, the names asked that the broker answered.
 */
export async function readTopicConfigs(
  admin: Admin,
  topics: readonly string[],
  names: readonly string[],
  options: {
    /**
     * For topics known to exist: how long an UNKNOWN_TOPIC_OR_PARTITION answer (a broker whose metadata
     * cache has not caught up with a topic just created) is asked again before it is thrown. 0: at once.
     */
    propagatingMs?: number;
  } = {},
): Promise<Map<string, Map<string, string>>> {
  const res = await whilePropagating(
    () =>
      admin.describeConfigs({
        includeSynonyms: false,
        resources: topics.map((name) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name, configNames: [...names] })),
      }),
    options.propagatingMs ?? 0,
  );
  return new Map(
    res.resources.map((r) => [
      r.resourceName,
      new Map(r.configEntries.flatMap((e) => (e.configValue === null || e.configValue === undefined ? [] : [[e.configName, String(e.configValue)] as const]))),
    ]),
  );
}
