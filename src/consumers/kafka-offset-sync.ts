import type { LogClient } from '../log/port.js';
import { createSharedAdmin } from '../log/shared-admin.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Pool } from '../db/db.js';
import { PARKED_OFFSET, readGroupPositions } from './offset-store.js';

/** What the sync needs of the group member's Kafka consumer (kafkajs' Consumer, narrowed). */
export interface OffsetCommitter {
  commitOffsets(offsets: { topic: string; partition: number; offset: string }[]): Promise<void>;
}

export interface KafkaOffsetSync {
  /**
   * Call from kafkajs' GROUP_JOIN event with the member's partitions of the new
   * generation: they are synced at once, then every `intervalMs` until the
   * next assignment or {@link KafkaOffsetSync.close}.
   */
  onAssignment(consumer: OffsetCommitter, assignment: Record<string, number[]>): void;
  /**
   * The runner's Kafka commit after a batch has committed in PostgreSQL
   * (`nextOffset` = the next offset to read). It goes through here so that a
   * sync round never commits behind it. Never throws: a failed commit is only
   * a stale copy, which the next round repairs.
   */
  commit(consumer: OffsetCommitter, topic: string, partition: number, nextOffset: number): Promise<void>;
  /** Stops the rounds and waits for the one in flight. */
  close(): Promise<void>;
}

export interface PlannedCommit {
  topic: string;
  partition: number;
  /** The stored offset, to be Kafka's. */
  offset: number;
  /** Kafka's committed offset before; null when it had none. */
  from: number | null;
  backwards: boolean;
}

const key = (topic: string, partition: number) => `${topic}/${partition}`;

/**
 * Which of the member's partitions get their stored offset committed to Kafka.
 *
 * `committed` must be read before `stored`. Then a Kafka offset ahead of the
 * stored one cannot come from this group's own progress: every runner commits
 * to PostgreSQL before Kafka, and stored offsets only grow while the group
 * runs. It means the truth moved back under Kafka's copy — a database
 * restored from a backup, a rebuild's swap, offsets reset by hand in
 * PostgreSQL, or Kafka's offsets moved with kafka-consumer-groups (which the
 * pipeline never reads). The group then re-reads from the stored offset (its
 * positioner seeks there), so Kafka's copy follows it back: tools that read
 * Kafka show the records it will apply again as lag instead of hiding them.
 *
 * The one backward move that would be wrong is a stored offset read before
 * one of this member's own later batches committed: `batchCommitted` holds,
 * per partition, the highest offset this member's batches have in flight or
 * had acknowledged since the Kafka read, and no partition is committed below
 * it.
 * A partition with no stored offset is left alone (nothing to copy), and so
 * is one whose offset is blocked (partition-positioner.ts) or parked.
 */
export function planKafkaCommits(input: {
  owned: Readonly<Record<string, readonly number[]>>;
  committed: ReadonlyMap<string, number>;
  stored: ReadonlyMap<string, number>;
  batchCommitted: ReadonlyMap<string, number>;
}): PlannedCommit[] {
  const out: PlannedCommit[] = [];
  for (const [topic, partitions] of Object.entries(input.owned)) {
    for (const partition of partitions) {
      const k = key(topic, partition);
      const stored = input.stored.get(k);
      if (stored === undefined) continue;
      const committed = input.committed.get(k);
      if (committed === stored) continue;
      if ((input.batchCommitted.get(k) ?? -1) >= stored) continue;
      out.push({ topic, partition, offset: stored, from: committed ?? null, backwards: committed !== undefined && committed > stored });
    }
  }
  return out;
}

/**
 * Brings the group's Kafka-committed offsets to the offsets it stores in
 * PostgreSQL, for the partitions this member owns: after every assignment,
 * and every `intervalMs` for partitions that receive nothing (after a
 * coordinator failover their last commits may have failed, and without new
 * records nothing else would commit them again). PostgreSQL stays the truth;
 * this is the copy standard lag tooling (kminion, Burrow, Redpanda Console)
 * reads, so that it agrees with ours. Commits go through the member's own
 * consumer, so a member of an older generation cannot overwrite a newer
 * owner's offsets (the coordinator refuses its generation). Which way an
 * offset may move: {@link planKafkaCommits}.
 */
export function createKafkaOffsetSync({
  kafka,
  pool,
  groupId,
  logger,
  intervalMs = 10_000,
}: {
  kafka: LogClient;
  pool: Pool;
  groupId: string;
  logger: Logger;
  intervalMs?: number;
}): KafkaOffsetSync {
  if (!Number.isFinite(intervalMs) || intervalMs < 100) throw new Error(`intervalMs must be >= 100, got ${intervalMs}`);
  let generation = 0;
  let owned: Record<string, number[]> = {};
  let member: OffsetCommitter | undefined;
  /** Per partition, the highest offset this member's batches have in flight, and the last one acknowledged (with its sequence number). */
  let pending = new Map<string, number>();
  let acked = new Map<string, { offset: number; seq: number }>();
  let ackSeq = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;

  const shared = createSharedAdmin(kafka);
  const getAdmin = shared.get;
  const dropAdmin = shared.drop;

  async function syncOnce(): Promise<void> {
    const gen = generation;
    const consumer = member;
    const topics = Object.keys(owned).filter((t) => (owned[t] ?? []).length > 0);
    if (!consumer || topics.length === 0) return;
    const a = await getAdmin();
    const readFrom = ackSeq;
    // Kafka first, then PostgreSQL: see planKafkaCommits.
    const fetched = await a.fetchOffsets({ groupId, topics });
    const committed = new Map<string, number>();
    for (const t of fetched) for (const p of t.partitions) if (Number(p.offset) >= 0) committed.set(key(t.topic, p.partition), Number(p.offset));
    const stored = new Map<string, number>();
    for (const topic of topics) {
      // A partition stopped because its offset does not fit the topic, or a swapped rebuild's parked one, has no offset worth copying.
      for (const [partition, s] of await readGroupPositions(pool, groupId, topic)) {
        if (s.blockedReason === null && s.nextOffset !== PARKED_OFFSET) stored.set(key(topic, partition), s.nextOffset);
      }
    }
    if (gen !== generation || closed) return;
    // Batch commits acknowledged before the Kafka read are in `committed` already; later ones and those in flight may be ahead of `stored`.
    const batchCommitted = new Map(pending);
    for (const [k, ack] of acked) if (ack.seq > readFrom) batchCommitted.set(k, Math.max(ack.offset, batchCommitted.get(k) ?? -1));
    const plan = planKafkaCommits({ owned, committed, stored, batchCommitted });
    if (plan.length === 0) return;
    for (const p of plan.filter((x) => x.backwards)) {
      logger.warn(
        { topic: p.topic, partition: p.partition, kafka: p.from, stored: p.offset },
        "LogClient's committed offset was ahead of the stored one (a restored database, a rebuild's swap or a hand reset): moved back to where the group reads from",
      );
    }
    await consumer.commitOffsets(plan.map((p) => ({ topic: p.topic, partition: p.partition, offset: String(p.offset) })));
    logger.debug({ partitions: plan.map((p) => `${p.topic}/${p.partition}: ${p.from ?? '-'} → ${p.offset}`) }, 'Kafka-committed offsets brought to the stored ones');
  }

  function round(): void {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = syncOnce()
      .catch(async (err: unknown) => {
        // Kafka or PostgreSQL not answering: the copy stays stale until a later round.
        logger.debug({ err: errorMessage(err) }, 'Kafka offset sync failed; retried next round');
        await dropAdmin();
      })
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          round();
        }
      });
  }

  return {
    onAssignment(consumer, assignment) {
      generation++;
      member = consumer;
      owned = Object.fromEntries(Object.entries(assignment).map(([t, ps]) => [t, [...ps]]));
      acked = new Map();
      pending = new Map();
      timer ??= setInterval(round, intervalMs);
      timer.unref();
      round();
    },
    async commit(consumer, topic, partition, nextOffset) {
      const k = key(topic, partition);
      const [acks, inFlight] = [acked, pending];
      inFlight.set(k, Math.max(nextOffset, inFlight.get(k) ?? -1));
      try {
        await consumer.commitOffsets([{ topic, partition, offset: String(nextOffset) }]);
        acks.set(k, { offset: Math.max(nextOffset, acks.get(k)?.offset ?? -1), seq: ++ackSeq });
      } catch (err) {
        logger.debug({ err: errorMessage(err), topic, partition }, 'Kafka offset commit failed (PostgreSQL holds the truth; the offset sync retries)');
      } finally {
        if (inFlight.get(k) === nextOffset) inFlight.delete(k);
      }
    },
    async close() {
      closed = true;
      clearInterval(timer);
      timer = undefined;
      await running;
      await dropAdmin();
    },
  };
}
