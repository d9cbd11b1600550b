import type { Pool, PoolClient } from '../db/db.js';

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
}

/**
 * Locks the partition's row for this transaction (creating it at 0) and
 * returns the next offset to apply. Every batch of a partition takes this lock
 * first, so two owners of one partition during a rebalance serialise here and
 * the second sees what the first committed.
 */
export async function lockPartition(tx: PoolClient, group: string, topic: string, partition: number): Promise<number> {
  await tx.query(
    `insert into consumer_offsets(group_id, topic, partition, next_offset) values ($1, $2, $3, 0)
     on conflict do nothing`,
    [group, topic, partition],
  );
  const { rows } = await tx.query<{ next_offset: number }>(
    'select next_offset from consumer_offsets where group_id = $1 and topic = $2 and partition = $3 for update',
    [group, topic, partition],
  );
  return rows[0]!.next_offset;
}

/** Moves the locked partition to `nextOffset` (inside the batch's transaction). */
export async function advancePartition(tx: PoolClient, group: string, topic: string, partition: number, nextOffset: number): Promise<void> {
  await tx.query(
    'update consumer_offsets set next_offset = $4, updated_at = now() where group_id = $1 and topic = $2 and partition = $3',
    [group, topic, partition, nextOffset],
  );
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
    `insert into consumer_offsets(group_id, topic, partition, next_offset)
     select $1, topic, partition, next_offset from consumer_offsets where group_id = $2 and topic = $3
     on conflict (group_id, topic, partition) do update set next_offset = excluded.next_offset, updated_at = now()`,
    [to, from, topic],
  );
}

/** Sets the given partitions of a group to `nextOffset` (a rebuild parks its group past every record after the swap). */
export async function setPartitions(tx: PoolClient, group: string, topic: string, partitions: readonly number[], nextOffset: number): Promise<void> {
  await tx.query(
    `insert into consumer_offsets(group_id, topic, partition, next_offset)
     select $1, $2, p, $4 from unnest($3::int[]) p
     on conflict (group_id, topic, partition) do update set next_offset = excluded.next_offset, updated_at = now()`,
    [group, topic, partitions, nextOffset],
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
  const { rows } = await db.query<{ group_id: string; topic: string; partition: number; next_offset: number; updated_at: Date }>(
    'select group_id, topic, partition, next_offset, updated_at from consumer_offsets',
  );
  return rows.map((r) => ({
    group: r.group_id,
    topic: r.topic,
    partition: r.partition,
    nextOffset: Number(r.next_offset),
    updatedAtMs: r.updated_at.getTime(),
  }));
}

/** Moves a partition to at least `nextOffset` (never back): a rebuild that read the truncated part from the journal. */
export async function raisePartition(tx: PoolClient, group: string, topic: string, partition: number, nextOffset: number): Promise<void> {
  await tx.query(
    `insert into consumer_offsets(group_id, topic, partition, next_offset) values ($1, $2, $3, $4)
     on conflict (group_id, topic, partition) do update set next_offset = greatest(consumer_offsets.next_offset, excluded.next_offset), updated_at = now()`,
    [group, topic, partition, nextOffset],
  );
}
