import { readAllOffsets, type StoredOffset } from '../consumers/offset-store.js';
import type { Pool } from '../db/db.js';

/**
 * Reads the offsets our own consumer groups store in PostgreSQL (committed in
 * the same transaction as their view rows, so they are the groups' truth) and
 * the freshness each view records. Read-only; a missing table (migration not
 * applied yet) reads as empty rather than failing the poll.
 */
export type { StoredOffset };

export interface ViewFreshnessRow {
  view: string;
  group: string | null;
  lastSourceTimeMs: number | null;
  lastCommitTimeMs: number | null;
  /** Journal time of the newest end-to-end canary heartbeat the view's group applied. */
  lastCanaryTimeMs: number | null;
}

const UNDEFINED_TABLE = '42P01';
const isUndefinedTable = (err: unknown) => typeof err === 'object' && err !== null && Reflect.get(err, 'code') === UNDEFINED_TABLE;

async function queryOrEmpty<R extends object>(pool: Pool, sql: string): Promise<R[]> {
  try {
    return (await pool.query<R>(sql)).rows;
  } catch (err) {
    if (isUndefinedTable(err)) return [];
    throw err;
  }
}

export async function readStoredOffsets(pool: Pool): Promise<StoredOffset[]> {
  try {
    return await readAllOffsets(pool);
  } catch (err) {
    if (isUndefinedTable(err)) return [];
    throw err;
  }
}

export async function readViewFreshness(pool: Pool): Promise<ViewFreshnessRow[]> {
  const rows = await queryOrEmpty<{
    view_name: string;
    group_id: string | null;
    last_source_time: Date | null;
    last_commit_time: Date | null;
    last_canary_time: string | null;
  }>(
    pool,
    // The canary column through to_jsonb: a monitor started before migration 0004 ran reads null instead of failing.
    `select view_name, group_id, last_source_time, last_commit_time, (to_jsonb(f) ->> 'last_canary_time') as last_canary_time
     from view_freshness f`,
  );
  return rows.map((r) => ({
    view: r.view_name,
    group: r.group_id,
    lastSourceTimeMs: r.last_source_time?.getTime() ?? null,
    lastCommitTimeMs: r.last_commit_time?.getTime() ?? null,
    lastCanaryTimeMs: r.last_canary_time === null ? null : Date.parse(r.last_canary_time),
  }));
}
