import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, startApiServer, type ApiServer } from '../../src/api/app.js';
import { generateMasterData, loadMasterData } from '../../src/command/master-data.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { createPool } from '../../src/db/db.js';
import { ensureReaderRole, migrate } from '../../src/db/migrate.js';
import { createClients, type Clients } from '../../src/main/clients.js';
import { eventually, testLogger } from '../helpers/stack.js';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.js';

/**
 * Issue 27, part 3: with every PostgreSQL process frozen (SIGSTOP), no
 * server-side timeout can fire. Every API request must still be answered
 * within the stated budget (API_REQUEST_TIMEOUT_MS, its documented default)
 * with a 503 problem, and the API must answer again once PostgreSQL runs.
 *
 * Freezing the shared server would stall every other test file: this file
 * freezes a PostgreSQL of its own (test/helpers/private-postgres.ts). The
 * API is wired as the api role wires it: the reader pool from createClients,
 * the budget from the config.
 */

// A busy 2-core machine: generous slack over the budget, and the point is that there is an answer at all.
const SLACK_MS = 3_000;

const ROUTES = [
  '/inventories?limit=5',
  '/inventories/INV-000001',
  '/inventories/INV-000001/movements',
  '/views/stock-by-warehouse-zone',
  '/views/stock-by-category-condition',
  '/views/zone-utilisation',
  '/views/daily-movements',
  '/alerts/low-stock',
];

interface Answer {
  path: string;
  status: number;
  contentType: string | null;
  retryAfter: string | null;
  code: unknown;
  ms: number;
}

describe('API with PostgreSQL frozen', () => {
  let pg: PrivatePostgres;
  let config: Config;
  let clients: Clients;
  let server: ApiServer;
  let base: string;

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    const admin = createPool(pg.url(), { max: 2 });
    try {
      await migrate(admin, 'migrations');
      await loadMasterData(admin, generateMasterData({ products: 50, customers: 5 }));
      await ensureReaderRole(admin, 'pipeline_reader', 'pipeline_reader');
    } finally {
      await admin.end();
    }
    // Only the databases change; every bound is the documented default.
    config = loadConfig({
      ...process.env,
      DATABASE_URL: pg.url(),
      API_DATABASE_URL: `postgres://pipeline_reader:pipeline_reader@127.0.0.1:${pg.port}/postgres`,
    });
    clients = createClients(config, testLogger);
    const app = createApp({
      pool: clients.readerPool(),
      logger: testLogger,
      metrics: new Registry(),
      readiness: { checks: [] },
      staleness: { upToDateMs: 1000, slightlyStaleMs: 5000 },
      requestTimeoutMs: config.apiRequestTimeoutMs,
    });
    server = await startApiServer(app, { port: 0 });
    base = `http://127.0.0.1:${server.port}`;
  });

  afterAll(async () => {
    pg?.thaw();
    await server?.close();
    await clients?.close();
    pg?.stop();
  });

  async function ask(path: string): Promise<Answer> {
    const started = performance.now();
    // The client's own bound only keeps a failing test from hanging; the assertion is on `ms`.
    const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(60_000) });
    const text = await res.text();
    const ms = performance.now() - started;
    let code: unknown;
    try {
      code = (JSON.parse(text) as { code?: unknown }).code;
    } catch {
      code = undefined;
    }
    return { path, status: res.status, contentType: res.headers.get('content-type'), retryAfter: res.headers.get('retry-after'), code, ms };
  }

  /** Every route `times` times, all at once: more requests than the pool has connections. */
  const wave = (times: number) => Promise.all(Array.from({ length: times }, () => ROUTES.map((r) => ask(r))).flat());

  it('documents its budget: the default is 5 s', () => {
    expect(config.apiRequestTimeoutMs).toBe(5_000);
  });

  it('answers every request within the budget with 503 problem+json while PostgreSQL is frozen, and recovers once it runs', async () => {
    // Warm: the pool holds open connections, so the frozen server meets both kinds of request:
    // a query on a connection that is already open, and a new connection to a postmaster that does not answer.
    const warm = await wave(2);
    expect(warm.map((a) => a.status).filter((s) => s !== 200 && s !== 404)).toEqual([]);

    const budget = config.apiRequestTimeoutMs;
    pg.freeze();
    try {
      // Two waves: the second meets the connections the first left with abandoned queries on them.
      for (const round of [1, 2]) {
        const answers = await wave(2);
        const late = answers.filter((a) => a.ms > budget + SLACK_MS).map((a) => `${a.path} ${Math.round(a.ms)} ms`);
        expect(late, `round ${round}: answered later than ${budget} ms + ${SLACK_MS} ms slack`).toEqual([]);
        for (const a of answers) {
          expect(a.status, `${a.path} (round ${round})`).toBe(503);
          expect(a.contentType).toBe('application/problem+json');
          expect(a.retryAfter).not.toBeNull();
          expect(['TIMEOUT', 'UNAVAILABLE']).toContain(a.code);
        }
      }
    } finally {
      pg.thaw();
    }

    // Recovery: the connections that held abandoned queries were destroyed, the pool reconnects.
    await eventually(async () => {
      const answers = await wave(1);
      return answers.every((a) => a.status === 200 || a.status === 404) ? true : undefined;
    }, 30_000, 500);
    const after = await wave(2);
    expect(after.filter((a) => a.status !== 200 && a.status !== 404).map((a) => `${a.path} ${a.status}`)).toEqual([]);
  });
});
