import type { JournalRecord } from '../command/journal.js';
import type { EventSerde } from '../events/serde.js';
import { partitionForKey } from '../log/partitioner.js';
import { isCanaryKey } from '../shared/canary.js';
import type { Logger } from '../shared/logger.js';
import { withTransaction, type Pool } from '../db/db.js';
import type { ConsumedEvent, ConsumerHandler } from './handler.js';
import { raisePartition } from './offset-store.js';

/** What a rebuild needs of the journal (the source of truth) when the topic no longer holds the whole history. */
export interface JournalSource {
  /** Every persistence id with its highest sequence number (a full scan). */
  highWaterMarks(): Promise<Map<string, number>>;
  load(persistenceId: string, range: { from: number; to: number }): Promise<JournalRecord[]>;
}

export interface PrefillResult {
  partitions: number[];
  persistenceIds: number;
  /** Events the handler refused (the live view dead-lettered them when they were consumed). */
  rejected: number;
}

/**
 * A rebuild reads the topic from its log start. When retention (or
 * `deleteRecords`) removed a partition's early records, the journal is the
 * truth for what the topic no longer holds: before the topic is read, every
 * persistence id of such a partition (the bridge's murmur2 partitioning) is
 * handed to the view's handler with its newest journal event — the handler's
 * sequence gate sees the gap before it and repairs it from the journal, so
 * the whole history applies in sequence order, in transactions of `chunk`
 * ids. Then the rebuild group's stored offset of the partition is raised to
 * the log start, so the topic is read from there on (what it repeats is
 * skipped as duplicates by the same gate).
 *
 * Idempotent: an interrupted prefill runs again on resume and applies only
 * what is missing. Partitions whose stored offset already reaches the log
 * start are left alone.
 */
export async function prefillFromJournal<E>(o: {
  pool: Pool;
  handler: ConsumerHandler<E>;
  serde: EventSerde<E>;
  journal: JournalSource;
  topic: string;
  groupId: string;
  /** Per partition: the log start, and where the rebuild group stands (absent: nothing applied yet). */
  partitions: { partition: number; low: number; stored: number | undefined }[];
  logger: Logger;
  chunk?: number;
}): Promise<PrefillResult> {
  const truncated = o.partitions.filter((p) => p.low > 0 && (p.stored ?? 0) < p.low);
  if (truncated.length === 0) return { partitions: [], persistenceIds: 0, rejected: 0 };
  const chunk = o.chunk ?? 200;
  const count = o.partitions.length;
  const marks = await o.journal.highWaterMarks();
  const wanted = new Set(truncated.map((p) => p.partition));
  const byPartition = new Map<number, [string, number][]>();
  for (const [pid, seq] of marks) {
    if (isCanaryKey(pid)) continue; // the pipeline's heartbeats are no view's history
    const partition = partitionForKey(pid, count);
    if (wanted.has(partition)) byPartition.set(partition, [...(byPartition.get(partition) ?? []), [pid, seq]]);
  }
  o.logger.info(
    { partitions: truncated.map((p) => `${p.partition} (log start ${p.low})`), persistenceIds: [...byPartition.values()].reduce((n, l) => n + l.length, 0) },
    'the topic no longer holds the whole history: reading it from the journal first',
  );
  let ids = 0;
  let rejected = 0;
  for (const { partition, low } of truncated) {
    const pids = (byPartition.get(partition) ?? []).sort(([a], [b]) => a.localeCompare(b));
    for (let i = 0; i < pids.length; i += chunk) {
      const newest = await Promise.all(pids.slice(i, i + chunk).map(([pid, seq]) => newestEvent(o, partition, pid, seq)));
      const outcome = await withTransaction(o.pool, (tx) => o.handler.applyBatch(newest.filter((e) => e !== undefined), tx));
      ids += newest.length;
      rejected += outcome.rejected.length;
      for (const r of outcome.rejected) o.logger.warn({ pid: r.event.key, code: r.code }, `journal event refused while rebuilding: ${r.message}`);
    }
    await withTransaction(o.pool, (tx) => raisePartition(tx, o.groupId, o.topic, partition, low));
  }
  return { partitions: truncated.map((p) => p.partition), persistenceIds: ids, rejected };
}

async function newestEvent<E>(
  o: { serde: EventSerde<E>; journal: JournalSource; topic: string },
  partition: number,
  pid: string,
  seq: number,
): Promise<ConsumedEvent<E> | undefined> {
  const [r] = await o.journal.load(pid, { from: seq, to: seq });
  if (!r) return undefined;
  return {
    topic: o.topic,
    partition,
    offset: -1,
    key: pid,
    event: o.serde.decodeRaw(r.eventType, r.schemaVersion, r.payload),
    eventType: r.eventType,
    writerVersion: r.schemaVersion,
    sourceWrittenAt: r.writtenAt,
    timestamp: r.writtenAt,
    headers: { persistence_id: pid, sequence_nr: String(r.sequenceNr), rebuild_origin: 'journal' },
    raw: null,
  };
}
