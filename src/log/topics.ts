import type { Admin } from 'kafkajs';

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

export async function ensureTopicSpecs(admin: Admin, specs: TopicSpec[], replicationFactor = 1): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((s) => ({
      topic: s.topic,
      numPartitions: s.partitions,
      replicationFactor,
      configEntries: s.compacted
        ? [
            { name: 'cleanup.policy', value: 'compact' },
            // Checkpoints are rewritten every batch: let the cleaner keep the topic small.
            { name: 'segment.ms', value: String(15 * 60_000) },
            { name: 'min.cleanable.dirty.ratio', value: '0.1' },
          ]
        : [],
    })),
  });
  return missing.map((s) => s.topic);
}
