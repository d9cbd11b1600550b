import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

// BIGINT (int8) and NUMERIC come back as strings by default; sequence numbers and
// offsets fit in a JS number well below 2^53, so parse int8 eagerly.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface PoolOptions {
  max?: number;
  applicationName?: string;
  /**
   * Server-side bound on one statement (PostgreSQL `statement_timeout`): a slow
   * statement is cancelled (57014) and the connection stays usable. Absent: none.
   */
  statementTimeoutMs?: number;
  /**
   * Client-side bound on one query (pg's `query_timeout`): the one that fires
   * when the server cannot answer at all (frozen, cut off by a silent network).
   * The query fails with "Query read timeout" and its connection is destroyed,
   * never handed out again. Keep it above `statementTimeoutMs`, so that a
   * server that runs cancels first and keeps the connection. Absent: none.
   */
  queryTimeoutMs?: number;
  /** Bound on getting a connection: waiting for a free one, or opening one. Default 10 s. */
  connectTimeoutMs?: number;
  onConnectionError?: (err: Error) => void;
}

/**
 * A pg pool whose every wait is bounded when the options say so: see
 * {@link PoolOptions}. Timeouts surface as errors that `isRetriable` accepts.
 */
export function createPool(connectionString: string, options: PoolOptions = {}): Pool {
  const { statementTimeoutMs, queryTimeoutMs } = options;
  if (statementTimeoutMs !== undefined && queryTimeoutMs !== undefined && queryTimeoutMs <= statementTimeoutMs) {
    // Otherwise a merely slow statement would cost a connection instead of a cancel.
    throw new RangeError(`queryTimeoutMs (${queryTimeoutMs}) must exceed statementTimeoutMs (${statementTimeoutMs})`);
  }
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'ddb-cdc-pipeline',
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    ...(statementTimeoutMs ? { statement_timeout: statementTimeoutMs } : {}),
    ...(queryTimeoutMs ? { query_timeout: queryTimeoutMs } : {}),
  });
  // A connection dies when PostgreSQL restarts or an admin terminates it
  // (57P01). Idle, the pool reports it here and discards the client. Checked
  // out, pg-pool removes its own listener, so a client that is between two
  // queries of a transaction (the runner awaiting a DLQ send, maintain()
  // awaiting the journal) would emit an unhandled 'error' and end the process:
  // every client gets a listener for its whole life; the next query on it
  // fails, the transaction helpers see ROLLBACK fail and destroy the client.
  pool.on('error', () => undefined); // reported once, by the client's own listener below
  pool.on('connect', (client) => client.on('error', (err) => options.onConnectionError?.(err)));
  // pg's query_timeout rejects the caller's promise but leaves the query on the
  // connection, which still waits for the server's answer; pool.query releases
  // such a client with the error (destroyed), but code holding a client from
  // pool.connect() releases it plainly after the error (ROLLBACK failed or not
  // tried). Handed out again, the next query would queue behind the abandoned
  // one. A client released with a query still in flight is therefore ended:
  // pg 8.x ends it by destroying the socket when a query is active, and
  // pg-pool then removes it instead of keeping it idle.
  pool.on('release', (err, client) => {
    if (!err && queryInFlight(client)) void client.end().catch(() => undefined);
  });
  return pool;
}

/**
 * True while the client has a query sent or queued. pg exposes no public
 * accessor; `_activeQuery` and `_queryQueue` are the fields its own `end()`
 * and pg-pool's release read (pinned pg 8.23; test/db/bounded-pool.int.test.ts
 * proves the behaviour against a frozen server).
 */
function queryInFlight(client: object): boolean {
  const active = '_activeQuery' in client ? client._activeQuery : undefined;
  const queued = '_queryQueue' in client && Array.isArray(client._queryQueue) ? client._queryQueue.length : 0;
  return (active !== null && active !== undefined) || queued > 0;
}

/**
 * Runs `fn` in one transaction on one connection: COMMIT if it resolves,
 * ROLLBACK if it throws (the error is rethrown). A connection that failed
 * mid-transaction is discarded rather than returned to the pool.
 */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    // After a client-side timeout the connection is still busy with the abandoned query: a
    // ROLLBACK would only wait behind it for another timeout. Destroying it rolls back.
    if (isClientTimeout(err)) broken = true;
    else {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
    }
    throw err;
  } finally {
    client.release(broken);
  }
}

/** pg's client-side query_timeout ("Query read timeout"): the server did not answer at all. */
export function isClientTimeout(err: unknown): boolean {
  return err instanceof Error && err.message === 'Query read timeout';
}
