import type { LogClient } from '../log/port.js';
import { PipelineError } from '../shared/errors.js';
import { withTransaction, type Pool } from '../db/db.js';
import { createRecordFetcher, type RecordFetcher } from '../log/record-fetcher.js';
import { createTopicIdReader } from '../log/topic-ids.js';
import { lockGroupOffsets, PARKED_OFFSET, readGroupPositions, resetPositions, type StoredPosition } from './offset-store.js';
import { judgePosition, witnessOf, type OffsetWitness, type PositionVerdict } from './offset-witness.js';

/** Where `offsets reset` moves a group: the log start, the log end, or the first offset at or after a time. */
export type ResetTarget = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'time'; atMs: number };

export interface PartitionCheck {
  partition: number;
  logStart: number;
  logEnd: number;
  stored: StoredPosition | null;
  verdict: PositionVerdict;
}

export interface ResetPlan {
  group: string;
  topic: string;
  /** The topic's ID when the plan was made (recorded with the offsets; the reset refuses if it changed since). */
  topicId: string | null;
  rows: ResetPlanRow[];
}

export interface ResetPlanRow {
  partition: number;
  logStart: number;
  logEnd: number;
  from: number | null;
  to: number;
  witness: OffsetWitness | null;
  blockedReason: string | null;
}

/** `earliest`, `latest` or an ISO-8601 time (`2026-12-06T10:00:00Z`). */
export function parseResetTarget(text: string): ResetTarget {
  if (text === 'earliest' || text === 'latest') return { kind: text };
  const atMs = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(atMs)) {
    throw new PipelineError('INVALID_ARGUMENT', `--to must be earliest, latest or an ISO-8601 time such as 2026-12-06T10:00:00Z, got ${JSON.stringify(text)}`);
  }
  return { kind: 'time', atMs };
}

async function withAdmin<T>(kafka: LogClient, f: (admin: ReturnType<LogClient['admin']>) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await f(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The topic's ID now (null: the cluster gives none); throws when the topic does not exist. */
export async function currentTopicId(kafka: LogClient, topic: string): Promise<string | null> {
  const reader = createTopicIdReader({ kafka });
  try {
    const id = (await reader.read([topic])).get(topic);
    if (id === undefined) throw new PipelineError('TOPIC_NOT_FOUND', `topic ${topic} does not exist`);
    return id;
  } finally {
    await reader.close();
  }
}

async function withFetcher<T>(kafka: LogClient, f: (fetcher: RecordFetcher) => Promise<T>): Promise<T> {
  const fetcher = createRecordFetcher({ kafka });
  try {
    return await f(fetcher);
  } finally {
    await fetcher.close();
  }
}

/**
 * Judges every partition of `topic` for `group` the way its consumer would on
 * assignment (partition-positioner.ts), without joining the group: what an
 * operator reads before and after a reset.
 */
export async function checkGroupOffsets(o: { kafka: LogClient; pool: Pool; group: string; topic: string }): Promise<PartitionCheck[]> {
  const [stored, ends, topicId] = await Promise.all([
    readGroupPositions(o.pool, o.group, o.topic),
    withAdmin(o.kafka, (a) => a.fetchTopicOffsets(o.topic)),
    currentTopicId(o.kafka, o.topic),
  ]);
  return withFetcher(o.kafka, async (fetcher) => {
    const out: PartitionCheck[] = [];
    for (const e of [...ends].sort((a, b) => a.partition - b.partition)) {
      const [logStart, logEnd] = [Number(e.low), Number(e.high)];
      const s = stored.get(e.partition) ?? null;
      let verdict: PositionVerdict = { ok: true, verified: false };
      if (s && s.nextOffset !== PARKED_OFFSET) {
        const w = s.witness;
        const readable = w !== null && w.offset >= logStart && s.nextOffset >= logStart && s.nextOffset <= logEnd;
        const at = readable ? await fetcher.firstAtOrAfter(o.topic, e.partition, w.offset) : undefined;
        verdict = judgePosition({
          topic: o.topic, partition: e.partition, nextOffset: s.nextOffset, witness: w, logStart, logEnd, storedTopicId: s.topicId, topicId,
          atWitness: at === undefined ? undefined : at === null ? null : witnessOf(at),
        });
      }
      out.push({ partition: e.partition, logStart, logEnd, stored: s, verdict });
    }
    return out;
  });
}

/** A group with members is running: its consumers would race the change. */
async function refuseWhileRunning(kafka: LogClient, group: string): Promise<void> {
  const described = await withAdmin(kafka, (a) => a.describeGroups([group]));
  const g = described.groups.find((x) => x.groupId === group);
  if (g && g.members.length > 0) {
    throw new PipelineError(
      'GROUP_RUNNING',
      `consumer group ${group} has ${g.members.length} running member(s) (${g.members.map((m) => m.clientHost + ' ' + m.clientId).join(', ')}); stop every process running it, then reset`,
    );
  }
}

/**
 * What `offsets reset` would do: per partition (all, or `partitions`), the
 * stored offset and the new one, with the witness of the record just below
 * the new offset (null at the log start), read from the topic as it is now.
 */
export async function planOffsetReset(o: {
  kafka: LogClient;
  pool: Pool;
  group: string;
  topic: string;
  to: ResetTarget;
  partitions?: readonly number[] | undefined;
}): Promise<ResetPlan> {
  const topicId = await currentTopicId(o.kafka, o.topic);
  const [stored, ends, atTime] = await withAdmin(o.kafka, (a) =>
    Promise.all([
      readGroupPositions(o.pool, o.group, o.topic),
      a.fetchTopicOffsets(o.topic),
      o.to.kind === 'time' ? a.fetchTopicOffsetsByTimestamp(o.topic, o.to.atMs) : Promise.resolve([]),
    ]),
  );
  const unknown = (o.partitions ?? []).filter((p) => !ends.some((e) => e.partition === p));
  if (unknown.length > 0) throw new PipelineError('INVALID_ARGUMENT', `${o.topic} has no partition ${unknown.join(', ')} (it has ${ends.length})`);
  const chosen = ends.filter((e) => !o.partitions || o.partitions.includes(e.partition)).sort((a, b) => a.partition - b.partition);
  const rows = await withFetcher(o.kafka, async (fetcher) => {
    const rows: ResetPlanRow[] = [];
    for (const e of chosen) {
      const [logStart, logEnd] = [Number(e.low), Number(e.high)];
      const byTime = Number(atTime.find((t) => t.partition === e.partition)?.offset ?? -1);
      // ListOffsets by time answers -1 when every record is older: the group starts at the end.
      const to = o.to.kind === 'earliest' ? logStart : o.to.kind === 'latest' ? logEnd : byTime < 0 ? logEnd : Math.max(byTime, logStart);
      const below = to > logStart ? await fetcher.lastBefore(o.topic, e.partition, to, logStart) : null;
      const s = stored.get(e.partition);
      rows.push({
        partition: e.partition, logStart, logEnd, from: s?.nextOffset ?? null, to,
        witness: below ? witnessOf(below) : null, blockedReason: s?.blockedReason ?? null,
      });
    }
    return rows;
  });
  return { group: o.group, topic: o.topic, topicId, rows };
}

/**
 * Moves a stopped group's stored offsets on purpose (the remedy for a
 * partition blocked by its witness, and for a deliberate skip or replay):
 * in one PostgreSQL transaction with the group's rows locked, after checking
 * that the group has no running member. Kafka's committed offsets follow
 * (advisory, for standard lag tooling). Events applied before and read again
 * are skipped by sequence number by the projector and the views.
 */
export async function applyOffsetReset(o: { kafka: LogClient; pool: Pool; plan: ResetPlan }): Promise<void> {
  const { group, topic, topicId, rows } = o.plan;
  await withTransaction(o.pool, async (tx) => {
    // Checked with the rows locked: a batch of a member that joins meanwhile waits for this transaction.
    await lockGroupOffsets(tx, group, topic);
    await refuseWhileRunning(o.kafka, group);
    const now = await currentTopicId(o.kafka, topic);
    if (now !== topicId) throw new PipelineError('TOPIC_CHANGED', `${topic} changed (ID ${topicId} -> ${now}) since the plan was made; plan again`);
    await resetPositions(tx, group, topic, topicId, rows.map((r) => ({ partition: r.partition, nextOffset: r.to, witness: r.witness })));
  });
  await withAdmin(o.kafka, (a) => a.setOffsets({ groupId: group, topic, partitions: rows.map((r) => ({ partition: r.partition, offset: String(r.to) })) }));
}
