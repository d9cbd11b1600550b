import type { Pool, PoolClient } from '../db/db.js';
import type { OffsetWitness } from './offset-witness.js';

/** Anything that runs a query: the pool or a connection inside a transaction. */
type Db = Pick<Pool, 'query'> | Pick<PoolClient, 'query'>;

/**
 * The one module that reads and writes `consumer_offsets`: where each
 * consumer group stands, per topic partition, as the offset of the next
 * record to apply. PostgreSQL, not Kafka, is the truth — the row commits in
 * the same transaction as the view rows it accounts for (exactly-once effect),
 * and Kafka's committed offset is only a copy for standard lag tooling.
 */
export interface StoredOffset {
  group: string;
  topic: string;
  partition: number;
  nextOffset: number;
  updatedAtMs: number;
  /** Why the group's consumer stopped this partition (offset-witness.ts); null (or absent) while it reads normally. */
  blockedReason?: string | null;
}

/** A partition's stored position: the next offset and the record it was stored after. */
export interface StoredPosition {
  nextOffset: number;
  /** The Kafka topic ID the offset was stored for (null: not known). */
  topicId: string | null;
  witness: OffsetWitness | null;
  blockedReason: string | null;
}

/**
 * A rebuild's consumer group is parked here by its swap: any batch of the
 * rebuild's consumer still in flight then finds its records below the stored
 * offset and drops them, instead of writing into shadow tables that no longer
 * exist (the rows are deleted once the consumer has stopped). Not a position
 * in any topic: a consumer assigned a parked partition leaves it paused and
 * reports nothing.
 */
export const PARKED_OFFSET = Number.MAX_SAFE_INTEGER;

interface PositionRow {
  partition: number;
  next_offset: string | number;
  topic_id: string | null;
  witness_offset: string | number | null;
  witness_key: string | null;
  witness_sequence_nr: string | number | null;
  witness_digest: string | null;
  blocked_reason: string | null;
}
const POSITION_COLUMNS = 'partition, next_offset, topic_id, witness_offset, witness_key, witness_sequence_nr, witness_digest, blocked_reason';

function positionOf(r: PositionRow): StoredPosition {
  const witness =
    r.witness_offset === null || r.witness_digest === null
      ? null
      : {
          offset: Number(r.witness_offset),
          key: r.witness_key,
          sequenceNr: r.witness_sequence_nr === null ? null : Number(r.witness_sequence_nr),
          digest: r.witness_digest,
        };
  return { nextOffset: Number(r.next_offset), topicId: r.topic_id, witness, blockedReason: r.blocked_reason };
}

/** A partition of a topic, as the offset rows key it. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/**
 * Locks the rows of `parts` for this transaction (creating those missing at
 * 0), in (topic, partition) order, and returns where each stands, in the
 * order given. Every batch of a partition takes this lock first, so two
 * owners of one partition during a rebalance serialise here and the second
 * sees what the first committed; a transaction of several partitions (a
 * fetch's batches joined) takes them in one order, so two such never
 * deadlock. Two statements, whatever the number of partitions.
 */
export async function lockPartitions(tx: PoolClient, group: string, parts: readonly TopicPartition[]): Promise<StoredPosition[]> {
  const sorted = [...parts].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  const topics = sorted.map((p) => p.topic);
  const partitions = sorted.map((p) => p.partition);
  await tx.query(
    `insert into consumer_offsets(group_id, topic, partition, next_offset)
     select $1, t, p, 0 from unnest($2::text[], $3::int[]) with ordinality as x(t, p, n) order by n
     on conflict do nothing`,
    [group, topics, partitions],
  );
  // FOR UPDATE above the sort: the rows are locked in this order.
  const { rows } = await tx.query<PositionRow & { topic: string }>(
    `select topic, ${POSITION_COLUMNS} from consumer_offsets
     where group_id = $1 and (topic, partition) in (select * from unnest($2::text[], $3::int[]))
     order by topic, partition for update`,
    [group, topics, partitions],
  );
  const byKey = new Map(rows.map((r) => [`${r.partition}/${r.topic}`, positionOf(r)]));
  return parts.map((p) => {
    const at = byKey.get(`${p.partition}/${p.topic}`);
    if (!at) throw new Error(`consumer_offsets has no row for ${group} ${p.topic}/${p.partition} after inserting it`);
    return at;
  });
}

/**
 * Moves locked partitions (inside the batch's transaction) each to its
 * `nextOffset`, witnessed by the last record applied and the topic's ID
 * (kept when unknown), and lifts their blocks: a batch could only be applied
 * because its partition was checked again. One statement.
 */
export async function advancePartitions(
  tx: PoolClient,
  group: string,
  moves: readonly (TopicPartition & { nextOffset: number; witness: OffsetWitness | null; topicId: string | null })[],
): Promise<void> {
  if (moves.length === 0) return;
  const col = <T>(f: (m: (typeof moves)[number]) => T) => moves.map(f);
  await tx.query(
    `update consumer_offsets o set next_offset = x.next_offset, updated_at = now(), topic_id = coalesce(x.topic_id, o.topic_id),
       witness_offset = x.w_offset, witness_key = x.w_key, witness_sequence_nr = x.w_seq, witness_digest = x.w_digest,
       blocked_reason = null, blocked_at = null
     from unnest($2::text[], $3::int[], $4::bigint[], $5::bigint[], $6::text[], $7::bigint[], $8::text[], $9::text[])
       as x(topic, partition, next_offset, w_offset, w_key, w_seq, w_digest, topic_id)
     where o.group_id = $1 and o.topic = x.topic and o.partition = x.partition`,
    [
      group, col((m) => m.topic), col((m) => m.partition), col((m) => m.nextOffset),
      col((m) => m.witness?.offset ?? null), col((m) => m.witness?.key ?? null), col((m) => m.witness?.sequenceNr ?? null),
      col((m) => m.witness?.digest ?? null), col((m) => m.topicId),
    ],
  );
}

/** Stored positions per partition of `topic` for `group`; partitions never applied are absent. */
export async function readGroupPositions(db: Db, group: string, topic: string): Promise<Map<number, StoredPosition>> {
  const { rows } = await db.query<PositionRow>(`select ${POSITION_COLUMNS} from consumer_offsets where group_id = $1 and topic = $2`, [group, topic]);
  return new Map(rows.map((r) => [r.partition, positionOf(r)]));
}

/**
 * Records why the group's consumer stopped a partition (the lag monitor,
 * `status` and `/readyz` read it). Leaves the offset alone; a row that does
 * not exist is not created.
 */
export async function markBlocked(db: Db, group: string, topic: string, partition: number, reason: string | null): Promise<void> {
  await db.query(
    `update consumer_offsets set blocked_reason = $4, blocked_at = case when $4::text is null then null else coalesce(blocked_at, now()) end
     where group_id = $1 and topic = $2 and partition = $3 and blocked_reason is distinct from $4`,
    [group, topic, partition, reason],
  );
}

/**
 * Moves partitions of a group on purpose (`cli offsets reset`), inside the
 * caller's transaction: each gets its new next offset and the witness of the
 * record just below it (null at the log start), and its block is lifted.
 */
export async function resetPositions(
  tx: PoolClient,
  group: string,
  topic: string,
  topicId: string | null,
  positions: readonly { partition: number; nextOffset: number; witness: OffsetWitness | null }[],
): Promise<void> {
  for (const p of positions) {
    const w = p.witness;
    await tx.query(
      `insert into consumer_offsets(group_id, topic, partition, next_offset, witness_offset, witness_key, witness_sequence_nr, witness_digest, topic_id)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       on conflict (group_id, topic, partition) do update set next_offset = excluded.next_offset, updated_at = now(), topic_id = excluded.topic_id,
         witness_offset = excluded.witness_offset, witness_key = excluded.witness_key, witness_sequence_nr = excluded.witness_sequence_nr,
         witness_digest = excluded.witness_digest, blocked_reason = null, blocked_at = null`,
      [group, topic, p.partition, p.nextOffset, w?.offset ?? null, w?.key ?? null, w?.sequenceNr ?? null, w?.digest ?? null, topicId],
    );
  }
}

/** Next offset per partition of `topic` for `group`; partitions never applied are absent. */
export async function readGroupOffsets(db: Db, group: string, topic: string): Promise<Map<number, number>> {
  const { rows } = await db.query<{ partition: number; next_offset: number }>(
    'select partition, next_offset from consumer_offsets where group_id = $1 and topic = $2',
    [group, topic],
  );
  return new Map(rows.map((r) => [r.partition, Number(r.next_offset)]));
}

/** The same, locking the rows (for a swap that must not race the group's batches). */
export async function lockGroupOffsets(tx: PoolClient, group: string, topic: string): Promise<Map<number, number>> {
  const { rows } = await tx.query<{ partition: number; next_offset: number }>(
    'select partition, next_offset from consumer_offsets where group_id = $1 and topic = $2 order by partition for update',
    [group, topic],
  );
  return new Map(rows.map((r) => [r.partition, Number(r.next_offset)]));
}

/**
 * Hands `from`'s offsets of `topic` to `to` (a rebuild's swap, inside its
 * transaction, with both groups' rows locked): rows are updated in place, so a
 * batch of `to` waiting on its row lock reads the new offset when it gets it.
 */
export async function handOverOffsets(tx: PoolClient, from: string, to: string, topic: string): Promise<void> {
  await tx.query(
    `insert into consumer_offsets(group_id, topic, partition, next_offset, topic_id, witness_offset, witness_key, witness_sequence_nr, witness_digest)
     select $1, topic, partition, next_offset, topic_id, witness_offset, witness_key, witness_sequence_nr, witness_digest
       from consumer_offsets where group_id = $2 and topic = $3
     on conflict (group_id, topic, partition) do update set next_offset = excluded.next_offset, updated_at = now(), topic_id = excluded.topic_id,
       witness_offset = excluded.witness_offset, witness_key = excluded.witness_key, witness_sequence_nr = excluded.witness_sequence_nr,
       witness_digest = excluded.witness_digest, blocked_reason = null, blocked_at = null`,
    [to, from, topic],
  );
}

/** Parks the given partitions of a group at {@link PARKED_OFFSET} (a rebuild's group after its swap). */
export async function parkPartitions(tx: PoolClient, group: string, topic: string, partitions: readonly number[]): Promise<void> {
  await tx.query(
    `insert into consumer_offsets(group_id, topic, partition, next_offset)
     select $1, $2, p, $4 from unnest($3::int[]) p
     on conflict (group_id, topic, partition) do update set next_offset = excluded.next_offset, updated_at = now(),
       witness_offset = null, witness_key = null, witness_sequence_nr = null, witness_digest = null`,
    [group, topic, partitions, PARKED_OFFSET],
  );
}

/** `from`'s offsets become `to`'s, which loses its own (a stopped live group taking over a rebuild's). */
export async function renameGroupOffsets(tx: PoolClient, from: string, to: string): Promise<void> {
  await tx.query('delete from consumer_offsets where group_id = $1', [to]);
  await tx.query('update consumer_offsets set group_id = $1 where group_id = $2', [to, from]);
}

/** Forgets a group (a finished or aborted rebuild); returns how many rows went. */
export async function deleteGroupOffsets(db: Db, group: string): Promise<number> {
  const r = await db.query('delete from consumer_offsets where group_id = $1', [group]);
  return r.rowCount ?? 0;
}

/** Every stored offset of every group (the lag monitor compares them with Kafka's). */
export async function readAllOffsets(db: Db): Promise<StoredOffset[]> {
  const { rows } = await db.query<{ group_id: string; topic: string; partition: number; next_offset: number; updated_at: Date; blocked_reason: string | null }>(
    // blocked_reason through to_jsonb: a monitor reading a database before migration 0005 reads null instead of failing.
    "select group_id, topic, partition, next_offset, updated_at, (to_jsonb(o) ->> 'blocked_reason') as blocked_reason from consumer_offsets o",
  );
  return rows.map((r) => ({
    group: r.group_id,
    topic: r.topic,
    partition: r.partition,
    nextOffset: Number(r.next_offset),
    updatedAtMs: r.updated_at.getTime(),
    blockedReason: r.blocked_reason,
  }));
}

/** Moves a partition to at least `nextOffset` (never back): a rebuild that read the truncated part from the journal. */
export async function raisePartition(tx: PoolClient, group: string, topic: string, partition: number, nextOffset: number): Promise<void> {
  await tx.query(
    `insert into consumer_offsets(group_id, topic, partition, next_offset) values ($1, $2, $3, $4)
     on conflict (group_id, topic, partition) do update set next_offset = greatest(consumer_offsets.next_offset, excluded.next_offset), updated_at = now(),
       -- the records up to the new offset came from the journal: no topic record witnesses it
       witness_offset = case when excluded.next_offset > consumer_offsets.next_offset then null else consumer_offsets.witness_offset end,
       witness_digest = case when excluded.next_offset > consumer_offsets.next_offset then null else consumer_offsets.witness_digest end`,
    [group, topic, partition, nextOffset],
  );
}
