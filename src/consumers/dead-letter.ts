import type { LogAdmin, LogHeaders, LogProducer } from '../log/port.js';
import { BROKER_DEFAULT_REPLICATION, createTopicsAndWait } from '../log/topics.js';

/** `<topic>.dlq.<group>`: one dead-letter topic per source topic and consumer group. */
export const dlqTopicOf = (topic: string, groupId: string) => `${topic}.dlq.${groupId}`;

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  code: string;
  message: string;
  attempts: number;
}

/**
 * Sends records a group cannot process to its DLQ, with headers naming the
 * error and the source position. Delivery is at-least-once: a crash between
 * this send and the batch's commit re-sends on redo, and the `dlq_source_*`
 * headers identify such duplicates.
 */
export interface DeadLetterQueue {
  send(groupId: string, letters: DeadLetter[]): Promise<void>;
}

export function createDeadLetterQueue(producer: LogProducer): DeadLetterQueue {
  return {
    async send(groupId, letters) {
      if (letters.length === 0) return;
      const byTopic = new Map<string, DeadLetter[]>();
      for (const l of letters) {
        const t = dlqTopicOf(l.topic, groupId);
        byTopic.set(t, [...(byTopic.get(t) ?? []), l]);
      }
      await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, ls]) => ({
          topic,
          messages: ls.map((l) => ({
            key: l.key,
            value: l.value,
            headers: {
              ...l.headers,
              dlq_error_code: l.code,
              dlq_error_message: l.message.slice(0, 2000),
              dlq_source_topic: l.topic,
              dlq_source_partition: String(l.partition),
              dlq_source_offset: String(l.offset),
              dlq_group: groupId,
              dlq_attempts: String(l.attempts),
              dlq_failed_at: new Date().toISOString(),
            } satisfies LogHeaders,
          })),
        })),
      });
    },
  };
}

/**
 * Creates the DLQ topics of a group if missing (auto-creation is off on
 * purpose), with `replicationFactor` replicas — undefined leaves it to the
 * broker's default.replication.factor.
 */
export async function ensureDlqTopics(admin: LogAdmin, topics: string[], groupId: string, replicationFactor: number | undefined) {
  const existing = new Set(await admin.listTopics());
  const missing = topics.map((t) => dlqTopicOf(t, groupId)).filter((t) => !existing.has(t));
  if (missing.length === 0) return;
  await createTopicsAndWait(
    admin,
    missing.map((topic) => ({ topic, numPartitions: 1, replicationFactor: replicationFactor ?? BROKER_DEFAULT_REPLICATION })),
  );
}
