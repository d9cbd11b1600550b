import type { Kafka } from 'kafkajs';
import { errorMessage } from '../shared/errors.js';
import { backoffDelay, sleep } from '../shared/retry.js';
import type { Pool } from '../db/db.js';
import type { ConsumerObserver, TopicPartition } from './consumer-observer.js';
import { readGroupOffsets } from './offset-store.js';

/** What the positioner needs of the Kafka consumer (kafkajs' Consumer, narrowed). */
export interface Seekable {
  pause(topics: { topic: string; partitions: number[] }[]): void;
  resume(topics: { topic: string; partitions: number[] }[]): void;
  seek(at: { topic: string; partition: number; offset: string }): void;
}

export interface PartitionPositioner {
  /**
   * Call synchronously from kafkajs' GROUP_JOIN event, before any fetch of the
   * new generation: pauses every assigned partition, then (asynchronously)
   * seeks each to the offset PostgreSQL holds — or the log start when it
   * holds none — and resumes it. Partitions without new records are
   * positioned too, so a group whose Kafka offsets ran ahead of PostgreSQL's
   * (a restored database, a re-run rebuild, a reset group) catches up
   * without waiting for traffic.
   */
  onAssignment(consumer: Seekable, assignment: Record<string, number[]>): void;
  /**
   * Whether a fetched batch may be applied: only once its partition has been
   * positioned in this generation (a fetch that raced the pause is dropped;
   * the seek re-reads it). Not a continuity check: offsets of a transactional
   * topic skip commit markers (and compaction skips more), so the next record
   * legitimately lies past `last + 1`. Records below the stored offset are
   * dropped by the batch transaction.
   */
  accept(topic: string, partition: number): boolean;
  /** Partitions left paused because Kafka no longer holds what they must read next. */
  blocked(): { topic: string; partitions: number[] }[];
  /** Wait for nothing more (stop). */
  close(): void;
}

/**
 * A partition whose stored offset lies below Kafka's log start is left paused:
 * retention deleted records the group never applied, and reading on would
 * skip them silently. The observer reports it (ERROR, with the command that
 * rebuilds from the journal).
 */
export function createPartitionPositioner(o: {
  kafka: Kafka;
  pool: Pool;
  groupId: string;
  observe: ConsumerObserver;
  paused: () => boolean;
}): PartitionPositioner {
  let generation = 0;
  let closed = false;
  /** `topic/partition`s positioned in the current generation. */
  const positioned = new Set<string>();
  const truncated = new Map<string, number[]>();
  const key = (topic: string, partition: number) => `${topic}/${partition}`;

  async function position(consumer: Seekable, gen: number, assignment: Record<string, number[]>) {
    for (let attempt = 0; gen === generation && !closed; attempt++) {
      // One admin connection per positioning attempt, for every topic of the assignment.
      const admin = o.kafka.admin();
      try {
        await admin.connect();
        for (const [topic, partitions] of Object.entries(assignment)) {
          const [stored, ends] = await Promise.all([readGroupOffsets(o.pool, o.groupId, topic), admin.fetchTopicOffsets(topic)]);
          const low = new Map(ends.map((p) => [p.partition, Number(p.low)]));
          if (gen !== generation || closed) return;
          const ready: number[] = [];
          for (const partition of partitions) {
            const logStart = low.get(partition) ?? 0;
            const storedOffset = stored.get(partition);
            if (storedOffset !== undefined && storedOffset < logStart) {
              o.observe({ type: 'truncated', topic, partition, storedOffset, logStart });
              truncated.set(topic, [...(truncated.get(topic) ?? []), partition]);
              continue;
            }
            const offset = storedOffset ?? logStart;
            consumer.seek({ topic, partition, offset: String(offset) });
            positioned.add(key(topic, partition));
            o.observe({ type: 'positioned', topic, partition, offset, basis: storedOffset === undefined ? 'log-start' : 'stored' });
            ready.push(partition);
          }
          if (ready.length > 0 && !o.paused()) consumer.resume([{ topic, partitions: ready }]);
        }
        return;
      } catch (err) {
        // PostgreSQL or Kafka not answering: the partitions stay paused until they do.
        const delayMs = backoffDelay(Math.min(attempt, 6), 200, 10_000);
        o.observe({ type: 'positioning-failed', error: err, attempt: attempt + 1, delayMs });
        await sleep(delayMs);
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    }
  }

  return {
    onAssignment(consumer, assignment) {
      const gen = ++generation;
      positioned.clear();
      truncated.clear();
      const topics = Object.entries(assignment).map(([topic, partitions]) => ({ topic, partitions }));
      if (topics.length > 0) consumer.pause(topics);
      o.observe({ type: 'assigned', partitions: topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition }) satisfies TopicPartition)) });
      void position(consumer, gen, assignment).catch((err: unknown) =>
        o.observe({ type: 'failed', error: new Error(`positioning failed: ${errorMessage(err)}`) }),
      );
    },
    accept: (topic, partition) => positioned.has(key(topic, partition)),
    blocked: () => [...truncated].map(([topic, partitions]) => ({ topic, partitions })),
    close() {
      closed = true;
    },
  };
}
