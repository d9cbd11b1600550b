import type { LogClient } from '../log/port.js';
import { errorMessage, PipelineError } from '../shared/errors.js';
import { backoffDelay, sleep } from '../shared/retry.js';
import type { Pool } from '../db/db.js';
import { createRecordFetcher, type RecordFetcher } from '../log/record-fetcher.js';
import { createTopicIdReader, type TopicIdReader } from '../log/topic-ids.js';
import type { ConsumerObserver, TopicPartition } from './consumer-observer.js';
import { markBlocked, PARKED_OFFSET, readGroupPositions } from './offset-store.js';
import { judgePosition, PartitionBlockedError, witnessOf, type BlockKind, type OffsetWitness } from './offset-witness.js';

/** What the positioner needs of the Kafka consumer (kafkajs' Consumer, narrowed). */
export interface Seekable {
  pause(topics: { topic: string; partitions: number[] }[]): void;
  resume(topics: { topic: string; partitions: number[] }[]): void;
  seek(at: { topic: string; partition: number; offset: string }): void;
}

/** A partition this member will not read, and why (what `/readyz` and the logs say). */
export interface BlockedPartition {
  topic: string;
  partition: number;
  kind: BlockKind;
  reason: string;
}

export interface PartitionPositioner {
  /**
   * Call synchronously from kafkajs' GROUP_JOIN event, before any fetch of the
   * new generation: pauses every assigned partition, then (asynchronously)
   * checks each against the topic and seeks it to the offset PostgreSQL holds
   * — or the log start when it holds none — and resumes it. Partitions
   * without new records are positioned too, so a group whose Kafka offsets
   * ran ahead of PostgreSQL's (a restored database, a re-run rebuild, a reset
   * group) catches up without waiting for traffic.
   */
  onAssignment(consumer: Seekable, assignment: Record<string, number[]>): void;
  /**
   * Whether a fetched batch may be applied: only once its partition has been
   * positioned in this generation (a fetch that raced the pause is dropped;
   * the seek re-reads it) and is not blocked. Not a continuity check: offsets
   * of a transactional topic skip commit markers (and compaction skips more),
   * so the next record legitimately lies past `last + 1`. Records below the
   * stored offset are dropped by the batch transaction, which also checks the
   * witness when a batch reaches back over it.
   */
  accept(topic: string, partition: number): boolean;
  /**
   * The topic's ID as read after `fetchedAt` (performance.now() when the batch
   * was handed over, so after it was fetched): the ID the batch's offsets are
   * stored for. Throws PartitionBlockedError when it is not the ID this
   * generation was positioned on — the topic was created again under the
   * running group, which the Kafka client does not notice (it fetches on from
   * its old position in the new topic). One Metadata request serves every
   * batch handed over before it started.
   */
  topicIdFor(topic: string, partition: number, fetchedAt: number): Promise<string | null>;
  /** Stops a partition found inconsistent while reading (batch-transaction.ts): paused, recorded, reported. */
  block(consumer: Seekable, blocked: BlockedPartition): Promise<void>;
  /** Partitions left paused because reading them would skip or misapply records. */
  blocked(): BlockedPartition[];
  /** Wait for nothing more (stop). */
  close(): Promise<void>;
}

/**
 * Never skip silently. A stored offset is read on from only when it still
 * means what it meant when it was stored (offset-witness.ts `judgePosition`):
 * not below Kafka's log start (retention deleted records the group never
 * applied), not beyond its log end, and with the record the group applied
 * last still at its offset. Otherwise the partition stays paused, the
 * reason is stored with the offset (`consumer_offsets.blocked_reason`, read
 * by the lag monitor and `status`) and the observer logs one ERROR naming
 * both sides and the remedy. The Kafka client's own offset reset never
 * decides what the views skip.
 */
export function createPartitionPositioner(o: {
  kafka: LogClient;
  pool: Pool;
  groupId: string;
  observe: ConsumerObserver;
  paused: () => boolean;
  /** Reads the witnessed records back (default: a raw fetcher on `kafka`). */
  fetcher?: RecordFetcher;
  /** Reads topic IDs (default: Metadata v10 over `kafka`'s connections). */
  topicIds?: TopicIdReader;
}): PartitionPositioner {
  let generation = 0;
  let closed = false;
  let fetcher: RecordFetcher | undefined = o.fetcher;
  let idReader: TopicIdReader | undefined = o.topicIds;
  /** The topic IDs this generation was positioned on (null: the cluster gives none). */
  const positionedIds = new Map<string, string | null>();
  /** The newest topic-ID reading: when it started, and its answer. */
  let reading: { startedAt: number; ids: Promise<Map<string, string | null>> } | undefined;
  /** `topic/partition`s positioned in the current generation. */
  const positioned = new Set<string>();
  const blockedNow = new Map<string, BlockedPartition>();
  const key = (topic: string, partition: number) => `${topic}/${partition}`;

  async function readWitness(topic: string, partition: number, w: OffsetWitness | null, logStart: number): Promise<OffsetWitness | null | undefined> {
    if (!w || w.offset < logStart) return undefined;
    fetcher ??= createRecordFetcher({ kafka: o.kafka });
    const r = await fetcher.firstAtOrAfter(topic, partition, w.offset);
    return r === null ? null : witnessOf(r);
  }

  /** Stored first: a positioning attempt that cannot store it fails and judges the partition again. */
  async function record(b: BlockedPartition): Promise<void> {
    await markBlocked(o.pool, o.groupId, b.topic, b.partition, b.reason);
    hold(b);
  }
  function hold(b: BlockedPartition): void {
    blockedNow.set(key(b.topic, b.partition), b);
    positioned.delete(key(b.topic, b.partition));
    o.observe({ type: 'blocked', ...b });
  }

  function readIds(topics: readonly string[]): Promise<Map<string, string | null>> {
    idReader ??= createTopicIdReader({ kafka: o.kafka });
    const r = { startedAt: performance.now(), ids: idReader.read(topics) };
    reading = r;
    r.ids.catch(() => {
      if (reading === r) reading = undefined;
    });
    return r.ids;
  }

  async function position(consumer: Seekable, gen: number, assignment: Record<string, number[]>) {
    for (let attempt = 0; gen === generation && !closed; attempt++) {
      // One admin connection per positioning attempt, for every topic of the assignment.
      const admin = o.kafka.admin();
      try {
        await admin.connect();
        const ids = await readIds(Object.keys(assignment));
        for (const [topic, partitions] of Object.entries(assignment)) {
          if (gen !== generation || closed) return;
          positionedIds.set(topic, ids.get(topic) ?? null);
          const [stored, ends] = await Promise.all([readGroupPositions(o.pool, o.groupId, topic), admin.fetchTopicOffsets(topic)]);
          const range = new Map(ends.map((p) => [p.partition, { low: Number(p.low), high: Number(p.high) }]));
          const ready: number[] = [];
          for (const partition of partitions) {
            if (gen !== generation || closed) return;
            const k = key(topic, partition);
            if (positioned.has(k) || blockedNow.has(k)) continue; // done by an earlier attempt of this generation
            const { low = 0, high = 0 } = range.get(partition) ?? {};
            const s = stored.get(partition);
            if (s?.nextOffset === PARKED_OFFSET) continue; // a swapped rebuild's group: nothing left to read
            const verdict = s
              ? judgePosition({
                  topic, partition, nextOffset: s.nextOffset, witness: s.witness, logStart: low, logEnd: high,
                  storedTopicId: s.topicId, topicId: ids.get(topic) ?? null,
                  atWitness: s.nextOffset >= low && s.nextOffset <= high ? await readWitness(topic, partition, s.witness, low) : undefined,
                })
              : ({ ok: true, verified: false } as const);
            if (gen !== generation || closed) return;
            if (!verdict.ok) {
              await record({ topic, partition, kind: verdict.kind, reason: verdict.reason });
              continue;
            }
            const offset = s?.nextOffset ?? low;
            consumer.seek({ topic, partition, offset: String(offset) });
            positioned.add(k);
            if (s?.blockedReason) await markBlocked(o.pool, o.groupId, topic, partition, null);
            o.observe({ type: 'positioned', topic, partition, offset, basis: s === undefined ? 'log-start' : s.witness && verdict.verified ? 'verified' : 'stored' });
            ready.push(partition);
          }
          if (ready.length > 0 && !o.paused()) consumer.resume([{ topic, partitions: ready }]);
        }
        return;
      } catch (err) {
        // PostgreSQL or Kafka not answering: the partitions not yet positioned stay paused until they do.
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
      blockedNow.clear();
      positionedIds.clear();
      const topics = Object.entries(assignment).map(([topic, partitions]) => ({ topic, partitions }));
      if (topics.length > 0) consumer.pause(topics);
      o.observe({ type: 'assigned', partitions: topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition }) satisfies TopicPartition)) });
      void position(consumer, gen, assignment).catch((err: unknown) =>
        o.observe({ type: 'failed', error: new Error(`positioning failed: ${errorMessage(err)}`) }),
      );
    },
    accept: (topic, partition) => positioned.has(key(topic, partition)),
    async topicIdFor(topic, partition, fetchedAt) {
      const expected = positionedIds.get(topic);
      const current = reading && reading.startedAt >= fetchedAt ? reading.ids : readIds([...positionedIds.keys()]);
      const id = (await current).get(topic);
      // Absent: deleted, or a broker whose metadata lags; retried (by the batch's recovery) until the topic is back.
      if (id === undefined) throw new PipelineError('KAFKA_TOPIC_UNKNOWN', `the broker does not know ${topic} now`, { retriable: true });
      if (expected && id && id !== expected) {
        throw new PartitionBlockedError(
          topic,
          partition,
          'topic-recreated',
          `${topic}/${partition}: the topic's ID changed from ${expected} to ${id} while this group was reading it; ` +
            'likely the topic was deleted and created again under the running pipeline',
        );
      }
      return id ?? expected ?? null;
    },
    async block(consumer, b) {
      consumer.pause([{ topic: b.topic, partitions: [b.partition] }]);
      if (blockedNow.has(key(b.topic, b.partition))) return;
      // Held here even when PostgreSQL cannot take the reason now: the next assignment judges the partition again.
      await markBlocked(o.pool, o.groupId, b.topic, b.partition, b.reason).catch((err: unknown) =>
        o.observe({ type: 'positioning-failed', error: err, attempt: 1, delayMs: 0 }),
      );
      hold(b);
    },
    blocked: () => [...blockedNow.values()],
    async close() {
      closed = true;
      await fetcher?.close();
      await idReader?.close();
    },
  };
}
