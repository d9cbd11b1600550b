import type { LogClient } from '../log/port.js';
import type { Registry } from 'prom-client';
import type { EventSerde } from '../events/serde.js';
import { errorMessage, isRetriable, PipelineError } from '../shared/errors.js';
import { rebuildGroupId } from '../shared/group-names.js';
import type { Logger } from '../shared/logger.js';
import { sleep } from '../shared/retry.js';
import type { Pool, PoolClient } from '../db/db.js';
import { dlqTopicOf } from './dead-letter.js';
import type { ConsumerHandler } from './handler.js';
import { deleteGroupWhenEmpty, deleteTopicIfEmpty } from './rebuild-kafka.js';
import { createProgressTracker, formatProgress, type PartitionReading, type RebuildProgress } from './rebuild-progress.js';
import {
  acquireRebuildLock,
  createShadowTables,
  discardRebuildState,
  dropOldTables,
  shadowName,
  shadowTablesPresent,
  swapIn,
  type RebuildTable,
  type SwapResult,
} from './rebuild-store.js';
import { deleteGroupOffsets, readGroupOffsets } from './offset-store.js';
import { prefillFromJournal, type JournalSource } from './rebuild-journal.js';
import { createConsumerRunner } from './runner.js';

export { shadowName, type RebuildTable } from './rebuild-store.js';
export type { PartitionProgress, RebuildProgress } from './rebuild-progress.js';
export type { JournalSource } from './rebuild-journal.js';

/**
 * Rebuilds a view from the start of the topic into shadow tables while the
 * live tables keep serving, then swaps them in atomically — and leaves
 * nothing behind.
 *
 * - What the topic no longer holds (retention deleted its early records) is
 *   read from the journal first, the source of truth (rebuild-journal.ts).
 *
 * - The shadow tables (`<table>_rebuild`, created LIKE the live ones) are
 *   filled by a consumer group of its own (`<live group>.rebuild`) with the
 *   same handler code. PostgreSQL's offset rows of that group decide where an
 *   interrupted rebuild resumes; its Kafka group is deleted before every
 *   start, so no offset committed by an earlier rebuild is ever inherited.
 * - One rebuild per live group at a time (an advisory lock in PostgreSQL).
 * - The swap is one transaction (see `swapIn`): readers see the old or the
 *   new tables, never an error; the live group continues from the rebuild's
 *   offsets, and nothing applies twice.
 * - After the swap nothing of the rebuild remains visible: its freshness rows
 *   are merged into the live views' rows inside the swap, its offset rows are
 *   deleted, its Kafka consumer group is deleted once its consumer has left,
 *   and its dead-letter topic too when empty (kept, with a warning, when the
 *   rebuild dead-lettered records: they are the events the new tables lack).
 * - Progress is reported per partition on every poll (`onProgress`) and
 *   logged every `progressLogIntervalMs` even when nothing moves; a partition
 *   that makes no progress for `stallAfterMs` is named with the reason.
 */
export interface RebuildOptions<E> {
  kafka: LogClient;
  pool: Pool;
  topic: string;
  liveGroup: string;
  tables: RebuildTable[];
  serde: EventSerde<E>;
  /** The view's handler, writing into the given table names (live name → shadow name), under the rebuild's group id. */
  makeHandler: (names: Record<string, string>) => ConsumerHandler<E>;
  logger: Logger;
  metrics: Registry;
  batchSize?: number;
  /** Kafka group session timeout of the rebuild's consumer (CONSUMER_SESSION_TIMEOUT_MS). */
  sessionTimeoutMs?: number;
  /** Replicas of the rebuild group's DLQ topics (TOPIC_REPLICATION_FACTOR); absent: the broker's default. */
  replicationFactor?: number;
  onProgress?: (p: RebuildProgress) => void;
  /** Discard an unfinished rebuild and start over instead of resuming it. */
  restart?: boolean;
  /** Runs inside the swap transaction after the renames (e.g. re-point SQL views at the new tables). */
  afterSwap?: (tx: PoolClient) => Promise<void>;
  signal?: AbortSignal;
  pollIntervalMs?: number;
  progressLogIntervalMs?: number;
  stallAfterMs?: number;
  /** How long to wait for a killed rebuild's consumer to leave its group (Kafka drops it after the session timeout, 30 s). */
  groupEmptyTimeoutMs?: number;
  /** How long the swap waits for the live group's offset rows and the tables before trying again later. */
  swapLockTimeoutMs?: number;
  /**
   * The journal, for what the topic no longer holds (retention removed its
   * early records): see rebuild-journal.ts. Without it, a rebuild of a
   * truncated topic refuses to start rather than silently miss history.
   */
  journal?: JournalSource;
}

export interface RebuildResult {
  /** Records the live group has consumed after the swap (sum of its next offsets). */
  events: number;
  durationMs: number;
  /** Whether an interrupted rebuild was resumed. */
  resumed: boolean;
  /** Records the rebuild dead-lettered (its DLQ topic is kept when there are any). */
  deadLetters: number;
}

/** Records within this many offsets of a partition's end count as read (transaction markers take offsets). */
const END_SLACK = 2;

export async function rebuildView<E>(options: RebuildOptions<E>): Promise<RebuildResult> {
  const { pool, kafka, topic, liveGroup, tables, logger: baseLogger, signal } = options;
  const { pollIntervalMs = 500, progressLogIntervalMs = 10_000, stallAfterMs = 30_000, groupEmptyTimeoutMs = 60_000, swapLockTimeoutMs = 5_000 } = options;
  const rebuildGroup = rebuildGroupId(liveGroup);
  const logger = baseLogger.child({ rebuild: rebuildGroup });
  const names = Object.fromEntries(tables.map((t) => [t.live, shadowName(t.live)]));
  const t0 = Date.now();

  const lock = await acquireRebuildLock(pool, rebuildGroup);
  const admin = kafka.admin();
  try {
    await admin.connect();
    await dropOldTables(pool, tables);
    const present = await shadowTablesPresent(pool, tables);
    const resumed = present === 'all' && !options.restart;
    if (!resumed) {
      // Offsets or parked rows without their tables (a crash after a swap, a half-dropped set) describe nothing: start over.
      const discarded = await discardRebuildState(pool, rebuildGroup, tables);
      if (present !== 'none' || discarded.offsetRows > 0) logger.warn({ discarded }, 'discarded an unfinished rebuild; starting from the beginning');
      await createShadowTables(pool, tables);
    } else {
      const applied = [...(await readGroupOffsets(pool, rebuildGroup, topic)).values()].reduce((s, n) => s + n, 0);
      logger.info({ applied }, 'resuming an unfinished rebuild from the offsets stored in PostgreSQL');
    }
    // A clean Kafka group every time: committed offsets of an earlier rebuild must not position this one.
    await deleteGroupWhenEmpty(admin, rebuildGroup, { timeoutMs: groupEmptyTimeoutMs, logger, signal });

    const handler = options.makeHandler(names);
    await readTruncatedFromJournal(handler);
    const runner = createConsumerRunner({
      kafka,
      pool,
      groupId: rebuildGroup,
      topics: [topic],
      serde: options.serde,
      handler,
      logger,
      metrics: options.metrics,
      maxBatchSize: options.batchSize ?? 5000,
      ...(options.sessionTimeoutMs ? { sessionTimeoutMs: options.sessionTimeoutMs } : {}),
      replicationFactor: options.replicationFactor,
    });
    let swapped = false;
    try {
      await runner.start();
      swapped = await catchUpAndSwap();
    } finally {
      await runner.stop();
      if (!swapped) {
        // PostgreSQL keeps what resumption needs; the Kafka group would only show up as a stopped consumer.
        await deleteGroupWhenEmpty(admin, rebuildGroup, { timeoutMs: 10_000, logger }).catch((err: unknown) =>
          logger.warn({ err: errorMessage(err) }, 'could not delete the rebuild consumer group; the next rebuild or rebuild --abort will'),
        );
      }
    }

    // With the rebuild's consumer stopped: its sentinel offset rows go.
    await deleteGroupOffsets(pool, rebuildGroup);
    await dropOldTables(pool, tables);
    await deleteGroupWhenEmpty(admin, rebuildGroup, { timeoutMs: groupEmptyTimeoutMs, logger });
    const dlq = await deleteTopicIfEmpty(admin, dlqTopicOf(topic, rebuildGroup), { logger });
    if (dlq.result === 'kept') {
      logger.warn(
        { topic: dlqTopicOf(topic, rebuildGroup), records: dlq.records },
        'the rebuild dead-lettered records the new tables do not hold: inspect them with `dlq list --group <rebuild group>`',
      );
    }
    const events = [...(await readGroupOffsets(pool, liveGroup, topic)).values()].reduce((s, n) => s + n, 0);
    return { events, durationMs: Date.now() - t0, resumed, deadLetters: dlq.result === 'kept' ? dlq.records : 0 };
  } finally {
    await admin.disconnect().catch(() => undefined);
    await lock.release();
  }

  /** The topic's truncated partitions are read from the journal first (idempotent: runs again on resume). */
  async function readTruncatedFromJournal(handler: ConsumerHandler<E>) {
    const [ends, stored] = await Promise.all([admin.fetchTopicOffsets(topic), readGroupOffsets(pool, rebuildGroup, topic)]);
    const partitions = ends.map((e) => ({ partition: e.partition, low: Number(e.low), stored: stored.get(e.partition) }));
    const truncated = partitions.filter((p) => p.low > 0 && (p.stored ?? 0) < p.low);
    if (truncated.length === 0) return;
    if (!options.journal) {
      throw new PipelineError(
        'TOPIC_TRUNCATED',
        `${topic} no longer holds its early records (partitions ${truncated.map((p) => `${p.partition} from ${p.low}`).join(', ')}) and this rebuild was given no journal to read them from`,
      );
    }
    const r = await prefillFromJournal({ pool, handler, serde: options.serde, journal: options.journal, topic, groupId: rebuildGroup, partitions, logger });
    logger.info({ partitions: r.partitions, persistenceIds: r.persistenceIds, rejected: r.rejected }, 'history the topic no longer holds read from the journal');
  }

  async function catchUpAndSwap(): Promise<boolean> {
    const tracker = createProgressTracker({ stallAfterMs });
    let lastLog = 0;
    let last: SwapResult | undefined;
    for (;;) {
      if (signal?.aborted) throw new PipelineError('REBUILD_ABORTED', 'rebuild interrupted; run it again to resume, or with --abort to discard it');
      try {
        const ends = await admin.fetchTopicOffsets(topic);
        const [rebuilt, live] = await Promise.all([readGroupOffsets(pool, rebuildGroup, topic), readGroupOffsets(pool, liveGroup, topic)]);
        const readings: PartitionReading[] = ends.map((e) => ({
          partition: e.partition,
          low: Number(e.low),
          high: Number(e.high),
          rebuilt: rebuilt.get(e.partition),
          live: live.get(e.partition),
        }));
        const progress = tracker.observe(readings, last === 'blocked');
        options.onProgress?.(progress);
        if (Date.now() - lastLog >= progressLogIntervalMs) {
          lastLog = Date.now();
          const fields = {
            done: progress.done,
            total: progress.total,
            eventsPerSecond: Math.round(progress.eventsPerSecond),
            partitions: progress.partitions.map((p) => ({ partition: p.partition, done: p.done, total: p.total, state: p.state })),
            stalled: progress.stalled.map((p) => ({ partition: p.partition, idleSeconds: Math.round(p.idleMs / 1000), reason: p.reason })),
          };
          if (progress.stalled.length > 0) logger.warn(fields, formatProgress(progress));
          else logger.info(fields, formatProgress(progress));
        }
        const settleMs = Math.min(2000, stallAfterMs);
        const ready = readings.every((r, i) => {
          const at = r.rebuilt ?? 0;
          return at >= (r.live ?? 0) && (r.high - at <= END_SLACK || progress.partitions[i]!.idleMs >= settleMs);
        });
        if (ready) {
          last = await swapIn(pool, {
            topic,
            partitions: readings.map((r) => r.partition),
            liveGroup,
            rebuildGroup,
            tables,
            lockTimeoutMs: swapLockTimeoutMs,
            afterSwap: options.afterSwap,
          });
          if (last === 'swapped') {
            logger.info({ tables: tables.map((t) => t.live) }, 'rebuilt tables swapped in');
            return true;
          }
        }
      } catch (err) {
        if (!isRetriable(err)) throw err;
        logger.warn({ err: errorMessage(err) }, 'rebuild poll failed; retrying');
      }
      await sleep(pollIntervalMs, signal);
    }
  }
}

export interface AbortReport {
  /** Shadow tables dropped, and old copies a crashed swap left. */
  tables: string[];
  offsetRows: number;
  /** Parked events and watermarks of the rebuild's group. */
  stateRows: number;
  freshnessRows: number;
  kafkaGroup: 'deleted' | 'absent';
  dlqTopic: 'deleted' | 'kept' | 'absent';
  dlqRecords: number;
}

/**
 * Removes everything an unfinished (crashed, interrupted or abandoned)
 * rebuild left: shadow tables, its offsets, parked events, watermarks and
 * freshness rows, its Kafka consumer group and its dead-letter topic. The
 * live tables and the live group are not touched. Refuses while a rebuild of
 * the same group runs; waits for a killed rebuild's consumer to be dropped
 * from its group (session timeout).
 */
export async function abortRebuild(o: {
  kafka: LogClient;
  pool: Pool;
  topic: string;
  liveGroup: string;
  tables: RebuildTable[];
  logger: Logger;
  groupEmptyTimeoutMs?: number;
}): Promise<AbortReport> {
  const rebuildGroup = rebuildGroupId(o.liveGroup);
  const lock = await acquireRebuildLock(o.pool, rebuildGroup);
  const admin = o.kafka.admin();
  try {
    await admin.connect();
    const kafkaGroup = await deleteGroupWhenEmpty(admin, rebuildGroup, { timeoutMs: o.groupEmptyTimeoutMs ?? 60_000, logger: o.logger });
    const discarded = await discardRebuildState(o.pool, rebuildGroup, o.tables);
    const old = await dropOldTables(o.pool, o.tables);
    // Dead letters of tables that no longer exist describe nothing: the events are still in the topic and the journal.
    const dlq = await deleteTopicIfEmpty(admin, dlqTopicOf(o.topic, rebuildGroup), { force: true, logger: o.logger });
    return { ...discarded, tables: [...discarded.tables, ...old], kafkaGroup, dlqTopic: dlq.result, dlqRecords: dlq.records };
  } finally {
    await admin.disconnect().catch(() => undefined);
    await lock.release();
  }
}
