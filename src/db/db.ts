import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

// BIGINT (int8) and NUMERIC come back as strings by default; sequence numbers and
// offsets fit in a JS number well below 2^53, so parse int8 eagerly.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export function createPool(
  connectionString: string,
  options: { max?: number; applicationName?: string; statementTimeoutMs?: number; onConnectionError?: (err: Error) => void } = {},
): Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'ddb-cdc-pipeline',
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
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
  return pool;
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
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true;
    }
    throw err;
  } finally {
    client.release(broken);
  }
}
