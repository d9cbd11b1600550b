import type { Kafka, KafkaMessage } from 'kafkajs';

/**
 * Reads `topic` with read_committed from its beginning, handing every
 * committed record to `onMessage`, until `ready()` holds; then reads on to the
 * end offsets taken at that moment, so every record written before then —
 * a late duplicate included — is seen, without waiting for a quiet period
 * that a slow writer could outlast. A partition counts as read when the
 * consumer has passed its last offset, transaction markers included (kafkajs
 * reports batches of markers only through END_BATCH_PROCESS). Throws after
 * `timeoutMs` in all, saying which step did not finish.
 */
export async function readCommittedToEnd(o: {
  kafka: Kafka;
  topic: string;
  groupId: string;
  onMessage: (partition: number, message: KafkaMessage) => void;
  ready: () => boolean;
  timeoutMs: number;
  /** Progress for the timeout's message. */
  progress?: () => string;
  /** Read aborted records too (read_uncommitted): to show what read_committed hides. */
  readUncommitted?: boolean;
}): Promise<void> {
  const { kafka, topic, groupId, onMessage, ready, timeoutMs, progress = () => '', readUncommitted = false } = o;
  const consumer = kafka.consumer({ groupId, readUncommitted, maxWaitTimeInMs: 200 });
  const reached = new Map<number, bigint>();
  const passed = (partition: number, offset: string) => {
    const at = BigInt(offset);
    if (at > (reached.get(partition) ?? -1n)) reached.set(partition, at);
  };
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => passed(e.payload.partition, e.payload.lastOffset));
  const deadline = Date.now() + timeoutMs;
  const waitFor = async (condition: () => boolean, what: string) => {
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`reading ${topic}: ${what} not reached within ${timeoutMs} ms ${progress()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        onMessage(partition, message);
        passed(partition, message.offset);
      },
    });
    await waitFor(ready, 'the expected records');
    const admin = kafka.admin();
    await admin.connect();
    let targets: [number, bigint][];
    try {
      targets = (await admin.fetchTopicOffsets(topic)).filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high) - 1n]);
    } finally {
      await admin.disconnect();
    }
    await waitFor(
      () => targets.every(([p, last]) => (reached.get(p) ?? -1n) >= last),
      `the end offsets taken after them (${targets.map(([p, last]) => `p${p}: ${reached.get(p) ?? 'none'}/${last}`).join(', ')})`,
    );
  } finally {
    await consumer.disconnect();
    // The group was this read's alone: leave nothing behind for `lag` and the monitor to list.
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
