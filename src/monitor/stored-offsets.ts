import { readAllOffsets, type StoredOffset } from '../consumers/offset-store.js';
import type { Pool } from '../db/db.js';
import { readAllViewFreshness, type ViewFreshnessRow } from '../db/view-freshness.js';

/**
 * Reads the offsets our own consumer groups store in PostgreSQL (committed in
 * the same transaction as their view rows, so they are the groups' truth) and
 * the freshness each view records. Read-only; a missing table (migration not
 * applied yet) reads as empty rather than failing the poll.
 */
export type { StoredOffset };

const UNDEFINED_TABLE = '42P01';
const isUndefinedTable = (err: unknown) => typeof err === 'object' && err !== null && Reflect.get(err, 'code') === UNDEFINED_TABLE;

/** A missing table (migration not applied yet) reads as empty. */
async function orEmpty<R>(read: () => Promise<R[]>): Promise<R[]> {
  try {
    return await read();
  } catch (err) {
    if (isUndefinedTable(err)) return [];
    throw err;
  }
}

export const readStoredOffsets = (pool: Pool): Promise<StoredOffset[]> => orEmpty(() => readAllOffsets(pool));

export const readStoredViewFreshness = (pool: Pool): Promise<ViewFreshnessRow[]> => orEmpty(() => readAllViewFreshness(pool));
