import { PipelineError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { ConsumerConfig, LogClient, LogMessage } from './port.js';

/**
 * Reads `topic` with read_committed through a throw-away consumer group
 * (the caller's, from withInternalGroup) until every partition of `targets`
 * has been passed at its last offset, handing each batch's records to
 * `onRecords`. A partition counts as passed at a transaction marker too:
 * END_BATCH_PROCESS fires for fetches that held only markers, which is how
 * the end of a transactional partition shows. Rejects with a retriable
 * `timeoutCode` error after `timeoutMs`. Used by the checkpoint reader and the
 * gap repair's per-key high-water read.
 */
export async function readToTargets(o: {
  kafka: LogClient;
  topic: string;
  groupId: string;
  /** Last offset to pass, per partition. */
  targets: ReadonlyMap<number, bigint>;
  consumer?: Omit<ConsumerConfig, 'groupId'>;
  onRecords: (records: LogMessage[]) => void;
  timeoutMs: number;
  timeoutCode: string;
  /** Says what was read so far, for the timeout's message. */
  progress?: () => string;
  logger: Logger;
}): Promise<void> {
  const { kafka, topic, groupId, targets, timeoutMs, logger } = o;
  const consumer = kafka.consumer({ readUncommitted: false, sessionTimeout: 10_000, maxWaitTimeInMs: 200, ...o.consumer, groupId });
  const reached = new Set<number>();
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const passed = (partition: number, lastOffset: string) => {
    const target = targets.get(partition);
    if (target !== undefined && BigInt(lastOffset) >= target) reached.add(partition);
    if (reached.size === targets.size) resolveDone();
  };
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => passed(e.payload.partition, e.payload.lastOffset));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => o.onRecords(batch.messages) });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new PipelineError(o.timeoutCode, `topic ${topic} not read to its end within ${timeoutMs} ms${o.progress ? ` (${o.progress()})` : ''}`, { retriable: true })),
        timeoutMs,
      );
    });
    try {
      await Promise.race([done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await consumer.disconnect().catch((err: unknown) => logger.warn({ err, topic }, 'reader disconnect failed'));
  }
}
