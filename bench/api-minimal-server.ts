/**
 * The floor the API is compared with (bench/api-latency.ts): a bare
 * `node:http` server answering GET /inventories/:id with the API's own named
 * query through a pool with the API's settings, and JSON.stringify of the row.
 * No routing library, validation, freshness, ETag, metrics or logging — what
 * Node, pg and the socket cost by themselves. Bench code, not product code.
 *
 * Run by the bench as a child process: BENCH_READER_URL=… node --import tsx
 * bench/api-minimal-server.ts; it sends `{ port }` over the IPC channel.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPool } from '../src/db/db.js';
import { INVENTORY_BY_INVENTORY_ID } from '../src/db/queries/inventories.js';

const PREFIX = '/inventories/';
const pool = createPool(process.env.BENCH_READER_URL!, {
  max: Number(process.env.BENCH_POOL_MAX ?? 10),
  applicationName: process.env.BENCH_APP_NAME ?? 'bench-minimal',
  statementTimeoutMs: 5000,
});

const server = createServer((req, res) => {
  if (req.method !== 'GET' || !req.url?.startsWith(PREFIX)) {
    res.writeHead(404).end();
    return;
  }
  pool.query({ ...INVENTORY_BY_INVENTORY_ID, values: [req.url.slice(PREFIX.length)] }).then(
    ({ rows }) => {
      if (rows.length === 0) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(rows[0]));
    },
    () => res.writeHead(503).end(),
  );
});

server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.once('SIGTERM', () => {
  server.close();
  server.closeIdleConnections();
  void pool.end().then(() => process.exit(0));
});
