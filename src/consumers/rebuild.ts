import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { EventSerde } from '../events/serde.js';
import { PipelineError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { sleep } from '../shared/retry.js';
import type { Pool, PoolClient } from '../views/db.js';
import type { ConsumerHandler } from './handler.js';
import { createConsumerRunner } from './runner.js';

/**
 * Rebuilds a view from offset 0 into shadow tables while the live tables keep
 * serving, then swaps them in atomically.
 *
 * - The shadow tables (`<table>_rebuild`, created LIKE the live ones) are
 *   filled by a consumer group of their own (`<group>.rebuild`) with the same
 *   handler code; its offsets live in consumer_offsets like any group's, so a
 *   crashed rebuild resumes where it stopped.
 * - The swap is one transaction: it locks the live group's offset rows (live
 *   batches wait), checks that the rebuild has consumed at least as far as
 *   the live group on every partition — otherwise it lets the rebuild catch
 *   up and tries again — renames live → old and shadow → live, hands the
 *   rebuild's offsets and parked events to the live group, and commits.
 *   Readers see either the old or the new table, never an error. Records the
 *   live consumer has already fetched below the new offsets are dropped by
 *   the offset lock, so nothing applies twice.
 */
export interface RebuildTable {
  live: string;
  /** Declares the table's dependants, if any, that must be dropped with the old copy. */
  cascade?: boolean;
}

export interface RebuildProgress {
  partitions: { partition: number; done: number; total: number }[];
  done: number;
  total: number;
  eventsPerSecond: number;
  etaSeconds: number | undefined;
}

export interface RebuildOptions<E> {
  kafka: Kafka;
  pool: Pool;
  topic: string;
  liveGroup: string;
  tables: RebuildTable[];
  serde: EventSerde<E>;
  /** The view's handler, writing into the given table names. */
  makeHandler: (names: Record<string, string>) => ConsumerHandler<E>;
  logger: Logger;
  metrics: Registry;
  batchSize?: number;
  onProgress?: (p: RebuildProgress) => void;
  /** Keep the shadow tables after a crash to resume (default), or start over. */
  restart?: boolean;
  /** Runs inside the swap transaction after the renames (e.g. re-point SQL views at the new tables). */
  afterSwap?: (tx: PoolClient) => Promise<void>;
  signal?: AbortSignal;
}

export const shadowName = (table: string) => `${table}_rebuild`;
const ident = (s: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(s)) throw new PipelineError('REBUILD_NAME', `invalid table name ${s}`);
  return s;
};

export async function rebuildView<E>(options: RebuildOptions<E>): Promise<{ events: number; durationMs: number }> {
  const { pool, kafka, topic, liveGroup, tables, logger } = options;
  const rebuildGroup = `${liveGroup}.rebuild`;
  const names = Object.fromEntries(tables.map((t) => [t.live, shadowName(t.live)]));
  const t0 = Date.now();

  if (options.restart) await discard(pool, rebuildGroup, tables);
  for (const t of tables) {
    await pool.query(`create table if not exists ${ident(shadowName(t.live))} (like ${ident(t.live)} including all)`);
  }
  const runner = createConsumerRunner({
    kafka,
    pool,
    groupId: rebuildGroup,
    topics: [topic],
    serde: options.serde,
    handler: options.makeHandler(names),
    logger,
    metrics: options.metrics,
    maxBatchSize: options.batchSize ?? 5000,
  });
  await runner.start();
  const admin = kafka.admin();
  await admin.connect();
  let swapped = false;
  try {
    let lastDone = -1;
    let rateStart = { t: Date.now(), done: 0 };
    while (!swapped) {
      if (options.signal?.aborted) throw new PipelineError('REBUILD_ABORTED', 'rebuild aborted; run it again to resume');
      const ends = await admin.fetchTopicOffsets(topic);
      const { rows } = await pool.query<{ partition: number; next_offset: number }>(
        'select partition, next_offset from consumer_offsets where group_id = $1 and topic = $2',
        [rebuildGroup, topic],
      );
      const doneBy = new Map(rows.map((r) => [r.partition, r.next_offset]));
      const partitions = ends.map((e) => ({ partition: e.partition, done: Math.min(doneBy.get(e.partition) ?? 0, Number(e.high)), total: Number(e.high) }));
      const done = partitions.reduce((s, p) => s + p.done, 0);
      const total = partitions.reduce((s, p) => s + p.total, 0);
      if (lastDone < 0) rateStart = { t: Date.now(), done };
      const elapsed = (Date.now() - rateStart.t) / 1000;
      const eventsPerSecond = elapsed > 0 ? (done - rateStart.done) / elapsed : 0;
      options.onProgress?.({
        partitions,
        done,
        total,
        eventsPerSecond,
        etaSeconds: eventsPerSecond > 0 ? (total - done) / eventsPerSecond : undefined,
      });
      lastDone = done;
      // Within a few records of the end (transaction markers take offsets): try the swap.
      if (total - done <= partitions.length * 2) swapped = await trySwap(pool, topic, liveGroup, rebuildGroup, tables, logger, options.afterSwap);
      if (!swapped) await sleep(500, options.signal);
    }
  } finally {
    await runner.stop();
    await admin.disconnect();
  }
  for (const t of tables) await pool.query(`drop table if exists ${ident(`${t.live}_old`)}${t.cascade ? ' cascade' : ''}`);
  const { rows } = await pool.query<{ n: number }>(
    'select coalesce(sum(next_offset), 0)::bigint as n from consumer_offsets where group_id = $1 and topic = $2',
    [liveGroup, topic],
  );
  await pool.query('delete from consumer_offsets where group_id = $1', [rebuildGroup]);
  return { events: rows[0]!.n, durationMs: Date.now() - t0 };
}

/** Per-group state besides offsets that belongs to the tables it describes (keyed by group_id). */
const GROUP_STATE_TABLES = ['parked_events', 'view_watermarks'];

async function trySwap(
  pool: Pool,
  topic: string,
  liveGroup: string,
  rebuildGroup: string,
  tables: RebuildTable[],
  logger: Logger,
  afterSwap?: (tx: PoolClient) => Promise<void>,
) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const live = await client.query<{ partition: number; next_offset: number }>(
      'select partition, next_offset from consumer_offsets where group_id = $1 and topic = $2 for update',
      [liveGroup, topic],
    );
    const rebuilt = await client.query<{ partition: number; next_offset: number }>(
      'select partition, next_offset from consumer_offsets where group_id = $1 and topic = $2 for update',
      [rebuildGroup, topic],
    );
    const rebuiltBy = new Map(rebuilt.rows.map((r) => [r.partition, r.next_offset]));
    const behind = live.rows.filter((r) => (rebuiltBy.get(r.partition) ?? 0) < r.next_offset);
    if (behind.length > 0) {
      await client.query('ROLLBACK');
      return false;
    }
    for (const t of tables) {
      await client.query(`alter table ${ident(t.live)} rename to ${ident(`${t.live}_old`)}`);
      await client.query(`alter table ${ident(shadowName(t.live))} rename to ${ident(t.live)}`);
    }
    await client.query('delete from consumer_offsets where group_id = $1 and topic = $2', [liveGroup, topic]);
    await client.query(
      `insert into consumer_offsets(group_id, topic, partition, next_offset)
       select $1, topic, partition, next_offset from consumer_offsets where group_id = $2 and topic = $3`,
      [liveGroup, rebuildGroup, topic],
    );
    for (const t of GROUP_STATE_TABLES) {
      if (!(await tableExists(client, t))) continue;
      await client.query(`delete from ${t} where group_id = $1`, [liveGroup]);
      await client.query(`update ${t} set group_id = $1 where group_id = $2`, [liveGroup, rebuildGroup]);
    }
    await afterSwap?.(client);
    await client.query('COMMIT');
    logger.info({ tables: tables.map((t) => t.live) }, 'rebuilt tables swapped in');
    return true;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

async function tableExists(client: PoolClient, table: string) {
  const { rows } = await client.query<{ t: string | null }>('select to_regclass($1)::text as t', [table]);
  return rows[0]?.t !== null;
}

async function discard(pool: Pool, rebuildGroup: string, tables: RebuildTable[]) {
  for (const t of tables) await pool.query(`drop table if exists ${ident(shadowName(t.live))}`);
  await pool.query('delete from consumer_offsets where group_id = $1', [rebuildGroup]);
  const client = await pool.connect();
  try {
    for (const t of GROUP_STATE_TABLES) {
      if (await tableExists(client, t)) await client.query(`delete from ${t} where group_id = $1`, [rebuildGroup]);
    }
  } finally {
    client.release();
  }
}
