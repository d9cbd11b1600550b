import type { Logger } from '../shared/logger.js';
import type { LagSnapshot } from './lag-snapshot.js';

/**
 * Says in the log when a group's Kafka-committed offsets start to disagree
 * with the offsets it stores in PostgreSQL (past the grace period), and when
 * they agree again: once per change and group. A warning, never an error:
 * the group's lag and status read PostgreSQL and are not affected; what is
 * misled are the tools that read Kafka's offsets (kminion, Burrow, Redpanda
 * Console) until the runner's Kafka offset sync catches up (see
 * src/consumers/kafka-offset-sync.ts). `pipeline_consumer_offsets_disagree`
 * and the ConsumerOffsetsDisagree alert (severity warning) carry the same.
 */
export function createDisagreementReporter(logger: Logger): (snap: LagSnapshot) => void {
  const disagreeing = new Set<string>();
  return (snap) => {
    for (const g of snap.groups) {
      const partitions = g.topics.flatMap((t) =>
        t.partitions.flatMap((p) => (p.stored?.disagree ? [{ topic: t.topic, partition: p.partition, stored: p.stored.offset, kafka: p.committedOffset }] : [])),
      );
      if (partitions.length > 0 && !disagreeing.has(g.group)) {
        disagreeing.add(g.group);
        logger.warn(
          { group: g.group, partitions: partitions.slice(0, 12), count: partitions.length },
          `Kafka-committed offsets of ${g.group} disagree with the offsets it stores in PostgreSQL on ${partitions.length} partition(s): ` +
            'lag tools that read Kafka (kminion, Burrow, Redpanda Console) are misled; lag and status here read PostgreSQL',
        );
      } else if (partitions.length === 0 && disagreeing.delete(g.group)) {
        logger.info({ group: g.group }, `Kafka-committed offsets of ${g.group} agree with the stored ones again`);
      }
    }
    // A poll with errors may have missed groups: forget only what a complete poll no longer lists.
    if (snap.errors.length === 0) for (const group of disagreeing) if (!snap.groups.some((g) => g.group === group)) disagreeing.delete(group);
  };
}
