import { PipelineError } from '../shared/errors.js';
import { deleteGroupOffsets, handOverOffsets, lockGroupOffsets, parkPartitions } from './offset-store.js';
import type { Pool, PoolClient } from '../db/db.js';
import { deleteViewFreshness, mergeViewFreshness } from '../db/view-freshness.js';

/**
 * The PostgreSQL side of a rebuild: its lock, its shadow tables, the
 * bookkeeping rows its group leaves (offsets, parked events, watermarks,
 * freshness) and the swap transaction. See rebuild.ts for the whole.
 */
export interface RebuildTable {
  live: string;
  /** Drop the old copy with its dependants (a view on it). */
  cascade?: boolean;
}

type Db = Pick<Pool, 'query'> | Pick<PoolClient, 'query'>;

export const shadowName = (table: string) => `${table}_rebuild`;
export const oldName = (table: string) => `${table}_old`;

export const ident = (s: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(s)) throw new PipelineError('REBUILD_NAME', `invalid table name ${s}`);
  return s;
};

/** Per-group state besides offsets that belongs to the tables it describes (keyed by group_id). */
const GROUP_STATE_TABLES = ['parked_events', 'view_watermarks'];

/**
 * One rebuild per live group at a time, across processes: a session-level
 * advisory lock held on a connection of its own for the whole rebuild (or
 * abort). It is released when the process dies, so a crashed rebuild never
 * blocks the next.
 */
export async function acquireRebuildLock(pool: Pool, rebuildGroup: string): Promise<{ release(): Promise<void> }> {
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 0)) as ok', [`rebuild:${rebuildGroup}`]);
    if (!rows[0]!.ok) {
      throw new PipelineError('REBUILD_RUNNING', `a rebuild of ${rebuildGroup.replace(/\.rebuild$/, '')} is running in another process; wait for it, or stop it first`);
    }
  } catch (err) {
    client.release();
    throw err;
  }
  return {
    async release() {
      await client.query('select pg_advisory_unlock(hashtextextended($1, 0))', [`rebuild:${rebuildGroup}`]).catch(() => undefined);
      client.release();
    },
  };
}

async function tableExists(db: Db, table: string) {
  const { rows } = await db.query<{ t: string | null }>('select to_regclass($1)::text as t', [table]);
  return rows[0]?.t !== null;
}

/** How many of the shadow tables exist: a rebuild resumes only from a complete set. */
export async function shadowTablesPresent(db: Db, tables: RebuildTable[]): Promise<'all' | 'none' | 'some'> {
  let n = 0;
  for (const t of tables) if (await tableExists(db, shadowName(t.live))) n++;
  return n === tables.length ? 'all' : n === 0 ? 'none' : 'some';
}

export async function createShadowTables(db: Db, tables: RebuildTable[]): Promise<void> {
  for (const t of tables) await db.query(`create table if not exists ${ident(shadowName(t.live))} (like ${ident(t.live)} including all)`);
}

/** Drops the copies a swap renamed away (also a crashed swap's leftovers). */
export async function dropOldTables(db: Db, tables: RebuildTable[]): Promise<string[]> {
  const dropped: string[] = [];
  for (const t of tables) {
    if (!(await tableExists(db, oldName(t.live)))) continue;
    await db.query(`drop table ${ident(oldName(t.live))}${t.cascade ? ' cascade' : ''}`);
    dropped.push(oldName(t.live));
  }
  return dropped;
}

export interface DiscardReport {
  tables: string[];
  offsetRows: number;
  stateRows: number;
  freshnessRows: number;
}

/**
 * Forgets a rebuild in PostgreSQL: its shadow tables (unless `keepTables`),
 * offsets, parked events, watermarks and freshness rows — one transaction.
 */
export async function discardRebuildState(
  db: Pool,
  rebuildGroup: string,
  tables: RebuildTable[],
  { keepTables = false }: { keepTables?: boolean } = {},
): Promise<DiscardReport> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const dropped: string[] = [];
    if (!keepTables) {
      for (const t of tables) {
        if (!(await tableExists(client, shadowName(t.live)))) continue;
        await client.query(`drop table ${ident(shadowName(t.live))}`);
        dropped.push(shadowName(t.live));
      }
    }
    const offsetRows = await deleteGroupOffsets(client, rebuildGroup);
    let stateRows = 0;
    for (const t of GROUP_STATE_TABLES) {
      if (await tableExists(client, t)) stateRows += (await client.query(`delete from ${t} where group_id = $1`, [rebuildGroup])).rowCount ?? 0;
    }
    const freshnessRows = await deleteViewFreshness(client, { groupId: rebuildGroup, views: tables.map((t) => shadowName(t.live)) });
    await client.query('COMMIT');
    return { tables: dropped, offsetRows, stateRows, freshnessRows };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export type SwapResult = 'swapped' | 'behind' | 'blocked';

/**
 * The swap, one transaction (readers see the old tables or the new ones):
 * - locks the live group's offset rows (its batches wait) and the rebuild's;
 *   if the rebuild is behind the live group on any partition, nothing
 *   happens (`behind`); if a lock is not granted within `lockTimeoutMs`
 *   (a long live batch, a long read holding a table) nothing happens either
 *   (`blocked`) — the caller reports it and tries again;
 * - renames live → `_old` and shadow → live;
 * - hands the rebuild's offsets, parked events and watermarks to the live
 *   group (offset rows are updated in place, so a live batch waiting on them
 *   reads the new offset and drops what the new tables already hold);
 * - merges the rebuild's freshness rows into the live views' rows (the newer
 *   of the two) and deletes them;
 * - sets the rebuild's offsets to a sentinel so its consumer's batches in
 *   flight drop their records;
 * - runs `afterSwap` (re-point SQL views).
 */
export async function swapIn(
  pool: Pool,
  o: {
    topic: string;
    partitions: number[];
    liveGroup: string;
    rebuildGroup: string;
    tables: RebuildTable[];
    lockTimeoutMs: number;
    afterSwap?: ((tx: PoolClient) => Promise<void>) | undefined;
  },
): Promise<SwapResult> {
  const { topic, liveGroup, rebuildGroup, tables } = o;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`set local lock_timeout = ${Math.max(1, Math.round(o.lockTimeoutMs))}`);
    const live = await lockGroupOffsets(client, liveGroup, topic);
    const rebuiltBy = await lockGroupOffsets(client, rebuildGroup, topic);
    if ([...live].some(([partition, next]) => (rebuiltBy.get(partition) ?? 0) < next)) {
      await client.query('ROLLBACK');
      return 'behind';
    }
    for (const t of tables) {
      await client.query(`alter table ${ident(t.live)} rename to ${ident(oldName(t.live))}`);
      await client.query(`alter table ${ident(shadowName(t.live))} rename to ${ident(t.live)}`);
    }
    await handOverOffsets(client, rebuildGroup, liveGroup, topic);
    await parkPartitions(client, rebuildGroup, topic, o.partitions);
    for (const t of GROUP_STATE_TABLES) {
      if (!(await tableExists(client, t))) continue;
      await client.query(`delete from ${t} where group_id = $1`, [liveGroup]);
      await client.query(`update ${t} set group_id = $1 where group_id = $2`, [liveGroup, rebuildGroup]);
    }
    await mergeFreshness(client, liveGroup, rebuildGroup, tables);
    await o.afterSwap?.(client);
    await client.query('COMMIT');
    return 'swapped';
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (typeof err === 'object' && err !== null && 'code' in err && err.code === '55P03') return 'blocked'; // lock_timeout
    throw err;
  } finally {
    client.release();
  }
}

/**
 * The swapped-in tables hold everything the rebuild applied, which is at
 * least what the live group had applied: each live view takes its rebuilt
 * copy's freshness where that is newer (see mergeViewFreshness); the
 * rebuild's rows go.
 */
async function mergeFreshness(tx: PoolClient, liveGroup: string, rebuildGroup: string, tables: RebuildTable[]) {
  for (const t of tables) await mergeViewFreshness(tx, { live: t.live, from: shadowName(t.live), groupId: liveGroup });
  await deleteViewFreshness(tx, { groupId: rebuildGroup, views: tables.map((t) => shadowName(t.live)) });
}
