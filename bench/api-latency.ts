/**
 * GET /inventories/:id over HTTP (autocannon, 50 connections) versus the
 * same SQL issued through pg directly (50 concurrent callers), in the same
 * run, against the same database, with the same pool size. Median of RUNS
 * rounds; p50 / p99 latency; ratio = API req/s ÷ pg queries/s.
 * Targets (issue 9): ratio ≥ 0.5, API p99 < 20 ms.
 *
 * The API runs in a child process (as in production: the load generator must
 * not share the server's event loop); the pg loop runs in this process while
 * the server idles. Writes bench/results/api.json.
 *
 *   node --import tsx bench/api-latency.ts   (RUNS=3 DURATION=8 INVENTORIES=20000)
 *   API_NODE_FLAGS="--max-semi-space-size=64" …  passes flags to the API process
 *
 * On a shared 2-core machine the numbers move with whatever else runs (the
 * load average is recorded in the result); compare runs taken together.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createApp } from '../src/api/app.js';
import { startApiServer } from '../src/api/server.js';
import { generateMasterData, loadMasterData } from '../src/command/master-data.js';
import { loadConfig } from '../src/config/config.js';
import { createLogger } from '../src/shared/logger.js';
import { createPool } from '../src/db/db.js';
import { ensureReaderRole, migrate } from '../src/db/migrate.js';
import { INVENTORY_BY_INVENTORY_ID } from '../src/db/queries/inventories.js';

const RUNS = Number(process.env.RUNS ?? 3);
const DURATION_S = Number(process.env.DURATION ?? 8);
const INVENTORIES = Number(process.env.INVENTORIES ?? 20_000);
const CONNECTIONS = 50;
const POOL_MAX = 10;
const invId = (i: number) => `INV-${String(i).padStart(6, '0')}`;
const randomInventory = () => invId(1 + Math.floor(Math.random() * INVENTORIES));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const percentile = (sorted: Float64Array, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** An idle pooled connection closed by the server (restart, another test terminating backends): the pool drops it. */
const ignoreIdleError = (err: Error) => console.warn(`idle PostgreSQL connection lost: ${err.message}`);

interface Measurement {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/** Child mode: serve the API over the reader role and print the port. */
async function serve(): Promise<void> {
  const pool = createPool(process.env.BENCH_READER_URL!, { max: POOL_MAX, applicationName: 'bench-api' });
  pool.on('error', ignoreIdleError);
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const app = createApp({
    pool,
    logger: createLogger({ level: 'warn' }),
    metrics,
    readiness: { checks: [] },
    staleness: { upToDateMs: 1000, slightlyStaleMs: 5000 },
  });
  const server = await startApiServer(app, { port: 0 });
  process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);
  process.once('SIGTERM', () => {
    void server.close().then(() => pool.end()).then(() => process.exit(0));
  });
}

async function setUp(adminUrl: URL) {
  const name = `bench_api_${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
  const postgres = new URL(adminUrl);
  postgres.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: postgres.toString() });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  const dbUrl = new URL(adminUrl);
  dbUrl.pathname = `/${name}`;
  const writer = createPool(dbUrl.toString(), { max: 2 });
  writer.on('error', ignoreIdleError);
  await migrate(writer, 'migrations');
  await loadMasterData(writer, generateMasterData());
  // INVENTORIES rows: products × the zone of their storage condition in each warehouse.
  await writer.query(
    `insert into inventories (persistence_id, inventory_id, product_id, warehouse_id, zone_id, product_storage_condition,
       zone_type, on_hand, reserved, last_sequence_nr, last_event_at, last_source_written_at, updated_at)
     select 'inventory-INV-' || lpad(n::text, 6, '0'), 'INV-' || lpad(n::text, 6, '0'), p.product_id, z.warehouse_id, z.zone_id,
            p.storage_condition, z.zone_type, 100 + n % 50, n % 10, 1 + n % 20, now() - interval '1 minute',
            now() - interval '1 minute', now() - interval '59 seconds'
       from (select row_number() over (order by p.product_id, z.zone_id) n, p.product_id, z.zone_id
               from products p join warehouse_zones z on z.zone_type = p.storage_condition) x
       join products p using (product_id) join warehouse_zones z using (zone_id)
      where n <= $1`,
    [INVENTORIES],
  );
  await writer.query(
    `insert into view_freshness (view_name, group_id, last_source_time, last_event_time, last_commit_time)
     values ('inventories', 'inventory-projector', now() - interval '1 second', now() - interval '1 second', now())`,
  );
  await writer.query('analyze');
  const role = `bench_reader_${randomBytes(3).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  await ensureReaderRole(writer, role, password);
  const readerUrl = new URL(dbUrl);
  readerUrl.username = role;
  readerUrl.password = password;
  return {
    readerUrl: readerUrl.toString(),
    async tearDown() {
      await writer.query(`drop owned by ${role}`);
      await writer.end();
      await admin.query(`drop database if exists "${name}" with (force)`);
      await admin.query(`drop role if exists ${role}`);
      await admin.end();
    },
  };
}

async function startChild(readerUrl: string): Promise<{ child: ChildProcess; port: number }> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [...(process.env.API_NODE_FLAGS ?? '').split(' ').filter(Boolean), '--import', 'tsx', self, '--serve'], {
    env: { ...process.env, BENCH_READER_URL: readerUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`API child exited with ${code}`)));
    lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
  });
  return { child, port };
}

async function measureApi(port: number, durationS: number): Promise<Measurement> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: durationS,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/inventories/${randomInventory()}` }) }],
  });
  return {
    rps: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

async function measurePg(pool: pg.Pool, durationS: number): Promise<Measurement> {
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + durationS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          const { rows } = await pool.query({ ...INVENTORY_BY_INVENTORY_ID, values: [randomInventory()] });
          if (rows.length !== 1) errors++;
        } catch {
          errors++;
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return { rps: round(latencies.length / elapsedS), p50Ms: round(percentile(sorted, 0.5)), p99Ms: round(percentile(sorted, 0.99)), errors };
}

async function main(): Promise<void> {
  const config = loadConfig();
  console.log(`setting up: ${INVENTORIES} inventories, master data, read-only role … (load average ${os.loadavg().map((x) => round(x)).join(' ')})`);
  const env = await setUp(new URL(config.databaseUrl));
  const { child, port } = await startChild(env.readerUrl);
  const pool = createPool(env.readerUrl, { max: POOL_MAX, applicationName: 'bench-pg' });
  pool.on('error', ignoreIdleError);
  try {
    // Warm-up: JIT, connection pools, PostgreSQL caches.
    await measureApi(port, 2);
    await measurePg(pool, 2);
    const runs: { api: Measurement; pg: Measurement }[] = [];
    for (let i = 0; i < RUNS; i++) {
      const api = await measureApi(port, DURATION_S);
      const direct = await measurePg(pool, DURATION_S);
      runs.push({ api, pg: direct });
      console.log(
        `run ${i + 1}: API ${round(api.rps, 0)} req/s p50 ${api.p50Ms} ms p99 ${api.p99Ms} ms (errors ${api.errors}) | ` +
          `pg ${round(direct.rps, 0)} q/s p50 ${round(direct.p50Ms)} ms p99 ${round(direct.p99Ms)} ms (errors ${direct.errors})`,
      );
    }
    const med = (pick: (r: { api: Measurement; pg: Measurement }) => number) => round(median(runs.map(pick)));
    const summary = {
      api: { rps: med((r) => r.api.rps), p50Ms: med((r) => r.api.p50Ms), p99Ms: med((r) => r.api.p99Ms) },
      pg: { rps: med((r) => r.pg.rps), p50Ms: med((r) => r.pg.p50Ms), p99Ms: med((r) => r.pg.p99Ms) },
      ratio: med((r) => r.api.rps / r.pg.rps),
    };
    const targets = { ratioMin: 0.5, apiP99MaxMs: 20 };
    const pass = summary.ratio >= targets.ratioMin && summary.api.p99Ms < targets.apiP99MaxMs && runs.every((r) => r.api.errors === 0 && r.pg.errors === 0);
    const out = {
      benchmark: 'GET /inventories/:id vs the same query through pg',
      at: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, loadAverageAtEnd: os.loadavg().map((x) => round(x)) },
      setup: { inventories: INVENTORIES, connections: CONNECTIONS, poolMax: POOL_MAX, durationS: DURATION_S, runs: RUNS, apiLogLevel: 'warn' },
      runs,
      median: summary,
      targets,
      pass,
    };
    const file = path.join('bench', 'results', 'api.json');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
    console.log(
      `median of ${RUNS}: API ${summary.api.rps} req/s (p50 ${summary.api.p50Ms} ms, p99 ${summary.api.p99Ms} ms) vs pg ${summary.pg.rps} q/s ` +
        `(p50 ${summary.pg.p50Ms} ms, p99 ${summary.pg.p99Ms} ms) → ratio ${summary.ratio} ${pass ? 'PASS' : 'FAIL'} → ${file}`,
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await pool.end();
    await env.tearDown();
  }
}

if (process.argv.includes('--serve')) {
  await serve();
} else {
  await main();
}
