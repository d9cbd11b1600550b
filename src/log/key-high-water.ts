import type { Logger } from '../shared/logger.js';
import { withInternalGroup } from './internal-groups.js';
import { readToTargets } from './read-to-targets.js';
import type { LogClient } from './port.js';

/** Highest `sequence_nr` per key found in an event topic's recent records. */
export interface KeyHighWaterMarks {
  marks: Map<string, number>;
  /** Records read (what the read cost). */
  records: number;
}

/**
 * What the topic already holds, per persistence id, among the records
 * appended since `sinceMs` (the records' Kafka timestamps, i.e. the relaying
 * producer's clock): the highest `sequence_nr` header per key, read with
 * read_committed up to the end offsets taken when the read starts. A gap
 * repair reads it after fencing every earlier repair of the table, so the
 * answer includes everything relayed before it and the repair skips those
 * events instead of relaying them twice.
 *
 * Correct as a high-water mark because a key's events reach the topic in
 * sequence order without holes (the stream holds an item's writes in order,
 * and a shard is read only after its parent): holding n means holding 1..n.
 * Records without a sequence number, and removals, are not events and are
 * not counted.
 */
export async function readKeyHighWaterMarks(options: {
  kafka: LogClient;
  topic: string;
  sinceMs: number;
  logger: Logger;
  timeoutMs?: number;
}): Promise<KeyHighWaterMarks> {
  const { kafka, topic, sinceMs, logger, timeoutMs = 600_000 } = options;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [starts, ends] = await Promise.all([admin.fetchTopicOffsetsByTimestamp(topic, Math.max(0, Math.floor(sinceMs))), admin.fetchTopicOffsets(topic)]);
    const targets = new Map<number, { from: bigint; last: bigint }>();
    for (const e of ends) {
      const from = BigInt(starts.find((s) => s.partition === e.partition)?.offset ?? e.high);
      const low = BigInt(e.low);
      const start = from < low ? low : from;
      if (BigInt(e.high) > start) targets.set(e.partition, { from: start, last: BigInt(e.high) - 1n });
    }
    if (targets.size === 0) return { marks: new Map(), records: 0 };
    return await withInternalGroup({
      admin,
      purpose: 'key-high-water',
      logger,
      sweep: false,
      use: async (groupId) => {
        // A fresh group starts where its committed offsets say: set them to the first record at or after sinceMs.
        await admin.setOffsets({ groupId, topic, partitions: [...targets].map(([partition, t]) => ({ partition, offset: t.from.toString() })) });
        return readTo(groupId, targets);
      },
    });
  } finally {
    await admin.disconnect();
  }

  async function readTo(groupId: string, targets: ReadonlyMap<number, { from: bigint; last: bigint }>): Promise<KeyHighWaterMarks> {
    const marks = new Map<string, number>();
    let records = 0;
    await readToTargets({
      kafka, topic, groupId, timeoutMs, timeoutCode: 'TOPIC_READ_TIMEOUT', logger,
      targets: new Map([...targets].map(([p, t]) => [p, t.last])),
      consumer: { sessionTimeout: 30_000, maxBytes: 16 * 1024 * 1024 },
      progress: () => `${records} records read`,
      onRecords: (batch) => {
        for (const m of batch) {
          const key = m.key?.toString('utf8');
          const seq = Number(m.headers?.sequence_nr?.toString());
          records++;
          if (!key || !Number.isSafeInteger(seq) || m.headers?.cdc_operation?.toString() === 'REMOVE') continue;
          if (seq > (marks.get(key) ?? 0)) marks.set(key, seq);
        }
      },
    });
    return { marks, records };
  }
}
