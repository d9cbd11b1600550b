import type { LogClient, LogHeaders } from '../log/port.js';
import { withInternalGroup } from '../log/internal-groups.js';
import { silentLogger, type Logger } from '../shared/logger.js';

/** A dead letter as read back from a DLQ topic. */
export interface StoredDeadLetter {
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer | null;
  code: string;
  message: string;
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: number;
  attempts: number;
  failedAt: string;
  headers: Record<string, string>;
}

const header = (h: LogHeaders | undefined, k: string) => {
  const v = h?.[k];
  return v === undefined ? '' : Array.isArray(v) ? String(v[0]) : String(v);
};

/**
 * Reads a DLQ topic from its start (or a given position) to its current end
 * with a throw-away internal consumer group that is deleted afterwards
 * (src/log/internal-groups.ts), so operators' reads never show up as a
 * lagging group nor pile up.
 */
export async function listDeadLetters(
  kafka: LogClient,
  topic: string,
  options: { limit?: number; partition?: number; fromOffset?: number; logger?: Logger } = {},
): Promise<StoredDeadLetter[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = (await admin.fetchTopicOffsets(topic)).filter((p) => options.partition === undefined || p.partition === options.partition);
    const remaining = new Map(ends.filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high)]));
    if (remaining.size === 0) return [];
    return await withInternalGroup({
      admin,
      purpose: 'dlq-reader',
      logger: options.logger ?? silentLogger(),
      use: (groupId) => readDeadLetters(kafka, topic, groupId, remaining, options),
    });
  } finally {
    await admin.disconnect();
  }
}

async function readDeadLetters(
  kafka: LogClient,
  topic: string,
  groupId: string,
  remaining: Map<number, number>,
  options: { limit?: number; partition?: number; fromOffset?: number },
): Promise<StoredDeadLetter[]> {
  const limit = options.limit ?? 1000;
  const consumer = kafka.consumer({ groupId, readUncommitted: false });
  const out: StoredDeadLetter[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} timed out`)), 60_000);
      // A transactional writer leaves a commit marker at the end, which no
      // message reaches: a quiet spell after the last record also means done.
      let lastSeen = Date.now();
      const idle = setInterval(() => {
        if (Date.now() - lastSeen > 3000) finish();
      }, 500);
      const finish = () => {
        clearTimeout(timer);
        clearInterval(idle);
        resolve();
      };
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            lastSeen = Date.now();
            const offset = Number(message.offset);
            const end = remaining.get(partition);
            if (end === undefined) return;
            if (options.fromOffset === undefined || offset >= options.fromOffset) {
              if (out.length < limit) {
                const h = message.headers;
                const headers: Record<string, string> = {};
                for (const k of Object.keys(h ?? {})) headers[k] = header(h, k);
                out.push({
                  partition,
                  offset,
                  key: message.key?.toString('utf8') ?? null,
                  value: message.value,
                  code: header(h, 'dlq_error_code') || header(h, 'error_code'),
                  message: header(h, 'dlq_error_message') || header(h, 'error_message'),
                  sourceTopic: header(h, 'dlq_source_topic'),
                  sourcePartition: Number(header(h, 'dlq_source_partition') || -1),
                  sourceOffset: Number(header(h, 'dlq_source_offset') || -1),
                  attempts: Number(header(h, 'dlq_attempts') || 1),
                  failedAt: header(h, 'dlq_failed_at'),
                  headers,
                });
              }
            }
            if (offset >= end - 1) remaining.delete(partition);
            if (remaining.size === 0 || out.length >= limit) finish();
          },
        })
        .catch(reject);
      if (options.partition !== undefined && options.fromOffset !== undefined) {
        consumer.seek({ topic, partition: options.partition, offset: String(options.fromOffset) });
      }
    });
    return out;
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

/**
 * Sends dead letters back to their source topics with their original key,
 * value and headers (the `dlq_*` ones replaced by `dlq_replayed_from`), for
 * reprocessing after a fix. Consumers drop what they already applied by
 * sequence number, so replaying twice is harmless.
 */
export async function replayDeadLetters(kafka: LogClient, topic: string, options: { code?: string } = {}): Promise<number> {
  const letters = (await listDeadLetters(kafka, topic, { limit: Number.MAX_SAFE_INTEGER })).filter(
    (l) => l.sourceTopic && (!options.code || l.code === options.code),
  );
  if (letters.length === 0) return 0;
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const bySource = new Map<string, StoredDeadLetter[]>();
    for (const l of letters) bySource.set(l.sourceTopic, [...(bySource.get(l.sourceTopic) ?? []), l]);
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...bySource].map(([source, ls]) => ({
        topic: source,
        messages: ls.map((l) => {
          const headers = Object.fromEntries(Object.entries(l.headers).filter(([k]) => !k.startsWith('dlq_')));
          return { key: l.key, value: l.value, headers: { ...headers, dlq_replayed_from: `${topic}/${l.partition}/${l.offset}` } };
        }),
      })),
    });
  } finally {
    await producer.disconnect();
  }
  return letters.length;
}

/** Deletes every record currently in the DLQ topic; returns how many. */
export async function purgeDeadLetters(kafka: LogClient, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const count = offsets.reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
    await admin.deleteTopicRecords({ topic, partitions: offsets.map((p) => ({ partition: p.partition, offset: p.high })) });
    return count;
  } finally {
    await admin.disconnect();
  }
}
