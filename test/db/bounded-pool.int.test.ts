import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/config.js';
import { createPool, isClientTimeout, withTransaction, type Pool } from '../../src/db/db.js';
import { readerPoolOptions, writerPoolOptions } from '../../src/main/clients.js';
import { isRetriable } from '../../src/shared/errors.js';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.js';

/**
 * The roles' pool against a frozen PostgreSQL (issue 27, part 3): every wait
 * ends within its bound with an error the retry loops accept, and a
 * connection whose query was abandoned is never handed out again — also when
 * the code holding it releases it plainly, as most call sites do. Runs on a
 * PostgreSQL of its own (test/helpers/private-postgres.ts): freezing the
 * shared one would stall every other test file.
 */

const SLACK_MS = 3_000;

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; result?: T; error?: unknown }> {
  const started = performance.now();
  try {
    const result = await fn();
    return { ms: performance.now() - started, result };
  } catch (error) {
    return { ms: performance.now() - started, error };
  }
}

const backendPid = async (pool: Pool) => (await pool.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;

describe('bounded PostgreSQL pools with the server frozen', () => {
  let pg: PrivatePostgres;
  let config: Config;
  let pool: Pool;

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    // The smallest statement bound the config allows, so the test is short; the connect bound is the default.
    config = loadConfig({ ...process.env, DATABASE_URL: pg.url(), PG_QUERY_TIMEOUT_MS: '1000', PG_POOL_MAX: '2' });
    pool = createPool(pg.url(), writerPoolOptions(config));
  });

  afterAll(async () => {
    pg?.thaw();
    await pool?.end().catch(() => undefined);
    pg?.stop();
  });

  it('derives the pools from the config: the client gives up after the server would have', () => {
    const writer = writerPoolOptions(config);
    expect(writer.statementTimeoutMs).toBe(1_000);
    expect(writer.queryTimeoutMs).toBeGreaterThan(writer.statementTimeoutMs!);
    expect(writer.connectTimeoutMs).toBe(config.pgConnectTimeoutMs);
    const reader = readerPoolOptions(config);
    expect(reader.queryTimeoutMs).toBeGreaterThan(reader.statementTimeoutMs!);
    expect(reader.connectTimeoutMs).toBeLessThanOrEqual(config.apiRequestTimeoutMs);
  });

  it('a running server cancels a slow statement itself (57014), before the client bound, and the connection stays usable', async () => {
    const client = await pool.connect();
    try {
      const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      const r = await timed(() => client.query('select pg_sleep(5)'));
      expect((r.error as { code?: string }).code).toBe('57014');
      expect(isRetriable(r.error)).toBe(true);
      expect((await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid).toBe(pid);
    } finally {
      client.release();
    }
  });

  it('frozen: a transaction, a plain query and a new connection each fail within their bound as retriable; abandoned connections are not reused', async () => {
    // Two open connections before the freeze: one for the transaction, one for pool.query.
    const c1 = await pool.connect();
    const c2 = await pool.connect();
    const before = new Set<number>();
    for (const c of [c1, c2]) before.add((await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid);
    c1.release();
    c2.release();

    const queryBound = writerPoolOptions(config).queryTimeoutMs!;
    pg.freeze();
    try {
      const [tx, plain] = await Promise.all([
        timed(() => withTransaction(pool, (client) => client.query('select 1'))),
        timed(() => pool.query('select 1')),
      ]);
      for (const r of [tx, plain]) {
        expect(isClientTimeout(r.error), String(r.error)).toBe(true);
        expect(isRetriable(r.error)).toBe(true);
        // withTransaction must not wait a second bound for a ROLLBACK behind the abandoned query.
        expect(r.ms).toBeLessThan(queryBound + SLACK_MS);
      }

      // A held client whose query timed out, released plainly (what rebuild-store, migrate and
      // ordered-handler do): ended, not kept idle.
      const held = await timed(() => pool.connect());
      // Both earlier connections were destroyed: this one is new and meets the frozen postmaster.
      expect(held.error, 'a new connection to a frozen server must fail within PG_CONNECT_TIMEOUT_MS').toBeDefined();
      expect(isRetriable(held.error)).toBe(true);
      expect(held.ms).toBeLessThan(config.pgConnectTimeoutMs + SLACK_MS);
      expect(pool.totalCount).toBe(0);
    } finally {
      pg.thaw();
    }

    // Once it runs again, the pool answers on new backends.
    const after = await Promise.all([backendPid(pool), backendPid(pool)]);
    for (const pid of after) expect(before.has(pid)).toBe(false);
  });

  it('a client released plainly with its query abandoned is ended, not handed out again', async () => {
    const client = await pool.connect();
    const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    const total = pool.totalCount;
    pg.freeze();
    try {
      const r = await timed(() => client.query('select 1'));
      expect(isClientTimeout(r.error)).toBe(true);
      client.release();
      expect(pool.totalCount).toBe(total - 1);
    } finally {
      pg.thaw();
    }
    // Every connection the pool can hand out at once: none is the abandoned one.
    const c1 = await pool.connect();
    const c2 = await pool.connect();
    try {
      const pids = await Promise.all([c1, c2].map(async (c) => (await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid));
      expect(pids).not.toContain(pid);
    } finally {
      c1.release();
      c2.release();
    }
  });
});
