import type { Pool } from '../views/db.js';

/**
 * Reads the offsets our own consumer groups store in PostgreSQL (committed in
 * the same transaction as their view rows, so they are the groups' truth) and
 * the freshness each view records. Read-only; a missing table (migration not
 * applied yet) reads as empty rather than failing the poll.
 */
export interface StoredOffset {
  group: string;
  topic: string;
  partition: number;
  /** Next offset to consume (Kafka committed-offset semantics). */
  nextOffset: number;
  updatedAtMs: number;
}

export interface ViewFreshnessRow {
  view: string;
  group: string | null;
  lastSourceTimeMs: number | null;
  lastCommitTimeMs: number | null;
}

const UNDEFINED_TABLE = '42P01';

async function queryOrEmpty<R extends object>(pool: Pool, sql: string): Promise<R[]> {
  try {
    return (await pool.query<R>(sql)).rows;
  } catch (err) {
    if (typeof err === 'object' && err !== null && Reflect.get(err, 'code') === UNDEFINED_TABLE) return [];
    throw err;
  }
}

export async function readStoredOffsets(pool: Pool): Promise<StoredOffset[]> {
  const rows = await queryOrEmpty<{ group_id: string; topic: string; partition: number; next_offset: number; updated_at: Date }>(
    pool,
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

export async function readViewFreshness(pool: Pool): Promise<ViewFreshnessRow[]> {
  const rows = await queryOrEmpty<{
    view_name: string;
    group_id: string | null;
    last_source_time: Date | null;
    last_commit_time: Date | null;
  }>(pool, 'select view_name, group_id, last_source_time, last_commit_time from view_freshness');
  return rows.map((r) => ({
    view: r.view_name,
    group: r.group_id,
    lastSourceTimeMs: r.last_source_time?.getTime() ?? null,
    lastCommitTimeMs: r.last_commit_time?.getTime() ?? null,
  }));
}
