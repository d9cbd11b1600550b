/**
 * The API against its limit (issue 16): GET /inventories/:id served by
 *   api      the real app (createApp + startApiServer, a pool like the API role's) in its own Node process,
 *   minimal  a bare node:http + pg handler issuing the same named query (bench/api-minimal-server.ts),
 *   pgbench  PostgreSQL's own C client running the same query (prepared, -j 1),
 * each loaded by a C client on one thread with 50 connections and ids drawn at
 * random over INVENTORIES inventories: wrk (bench/wrk/inventory-by-id.lua) for
 * the two HTTP servers, pgbench itself for the third. Sides take turns (the
 * order rotates each round); median of RUNS rounds of DURATION seconds.
 *
 * For each side: req/s (tps), p50 / p99 latency, errors, and CPU per request
 * split by process: the Node server (/proc/<pid>/stat), its PostgreSQL
 * backends (sampled by application_name), the load generator (the shell's
 * `times` around wrk / pgbench), plus the machine's busy CPU in the window.
 * Targets: API server CPU ≤ 1.5 × the minimal handler's per request; API p99 < 10 ms.
 *
 *   node --import tsx bench/api-latency.ts            (RUNS=5 DURATION=10 INVENTORIES=500)
 *   node --import tsx bench/api-latency.ts --smoke    (1 round of 2 s)
 *   API_LOG_LEVEL=info …   the API writes its access log (JSON lines to /dev/null); default warn
 *   API_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" …   flags for the API process (MINIMAL_NODE_FLAGS: the minimal one)
 *   SIDES=api …   only these sides (a profile of one side under load; no ratios)
 *   API_BASELINE_REV=<rev> …   also the API of another git revision (side apiBaseline): before/after in one run;
 *     API_BASELINE_LOG_LEVEL=info with API_BASELINE_REV=HEAD: the cost of the access log, side by side;
 *     API_BASELINE_POOL_MAX=n: the same with another pool size
 *
 * Needs wrk and pgbench on PATH and a superuser DATABASE_URL (it creates a
 * database and a read-only role, dropped at the end). Writes bench/results/api.json.
 * The two cores are shared by the servers, PostgreSQL and the load generator:
 * read ratios taken in one run, not absolute rates.
 */
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createApp } from '../src/api/app.js';
import { startApiServer } from '../src/api/server.js';
import { generateMasterData, loadMasterData } from '../src/command/master-data.js';
import { loadConfig } from '../src/config/config.js';
import { createPool } from '../src/db/db.js';
import { ensureReaderRole, migrate } from '../src/db/migrate.js';
import { INVENTORY_BY_INVENTORY_ID } from '../src/db/queries/inventories.js';
import { createLogger } from '../src/shared/logger.js';
import { sleep } from '../src/shared/retry.js';
import { createTestDatabase } from '../test/helpers/stack.js';
import { sampleBackends } from './api-cpu.js';
import { machineCpuSeconds, processCpuSeconds } from './lib/proc-cpu.js';

const SMOKE = process.argv.includes('--smoke');
const RUNS = Number(process.env.RUNS ?? (SMOKE ? 1 : 5));
const DURATION_S = Number(process.env.DURATION ?? (SMOKE ? 2 : 10));
const WARMUP_S = SMOKE ? 1 : Math.min(3, DURATION_S);
const INVENTORIES = Number(process.env.INVENTORIES ?? 500);
const CONNECTIONS = 50;
const POOL_MAX = 10; // PG_POOL_MAX's default: the API role's reader pool
const STATEMENT_TIMEOUT_MS = 5000; // API_STATEMENT_TIMEOUT_MS's default
const API_LOG_LEVEL = process.env.API_LOG_LEVEL ?? 'warn';
/** API_BASELINE_REV=<git rev>: also serve the API of that revision (side `apiBaseline`), for before/after in one run. */
const BASELINE_REV = process.env.API_BASELINE_REV;
const ALL_SIDES = ['api', 'minimal', 'pgbench', 'apiBaseline'] as const;
type Side = (typeof ALL_SIDES)[number];
/** SIDES=api,minimal runs only those (profiling); the ratios need api, minimal and pgbench. */
const SIDES = ALL_SIDES.filter(
  (s) => (process.env.SIDES ?? 'api,minimal,pgbench').split(',').includes(s) || (s === 'apiBaseline' && BASELINE_REV !== undefined),
);
const APP_NAME: Record<Side, string> = { api: 'bench-api', minimal: 'bench-minimal', pgbench: 'bench-pgbench', apiBaseline: 'bench-api-baseline' };

const here = path.dirname(fileURLToPath(import.meta.url));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** An idle pooled connection closed by the server (restart, another test terminating backends): the pool drops it. */
const ignoreIdleError = (err: Error) => console.warn(`idle PostgreSQL connection lost: ${err.message}`);

interface Load {
  requests: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** CPU seconds of the load generator process (user + system, all threads). */
  loadGenCpuS: number;
}

interface Measurement {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  cpuUsPerRequest: { server: number | null; postgres: number; loadGenerator: number; total: number };
  /** Busy share of the whole machine in the window (1 = both cores busy), and what the measured processes do not explain. */
  machine: { busyShare: number; unaccountedCoreS: number };
  postgresBackends: number;
}

/** Child mode: the API as the API role serves it (reader pool, statement timeout, metrics registry). */
async function serve(): Promise<void> {
  const pool = createPool(process.env.BENCH_READER_URL!, {
    max: Number(process.env.BENCH_POOL_MAX ?? POOL_MAX),
    applicationName: process.env.BENCH_APP_NAME ?? APP_NAME.api,
    statementTimeoutMs: STATEMENT_TIMEOUT_MS,
  });
  pool.on('error', ignoreIdleError);
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const app = createApp({
    pool,
    logger: createLogger({ level: API_LOG_LEVEL, format: 'json' }).child({ component: 'api' }),
    metrics,
    readiness: { checks: [] },
    staleness: { upToDateMs: 1000, slightlyStaleMs: 5000 },
  });
  const server = await startApiServer(app, { port: 0 });
  process.send?.({ port: server.port });
  process.once('SIGTERM', () => {
    void server.close().then(() => pool.end()).then(() => process.exit(0));
  });
}

async function setUp(adminUrl: URL) {
  const postgres = new URL(adminUrl);
  postgres.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: postgres.toString(), application_name: 'bench-admin' });
  await admin.connect();
  const db = await createTestDatabase('bench_api', { max: 2 });
  const dbUrl = new URL(db.url);
  const writer = db.pool;
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
  const { rows } = await writer.query<{ n: number }>('select count(*)::int n from inventories');
  if (rows[0]!.n !== INVENTORIES) throw new Error(`seeded ${rows[0]!.n} inventories, wanted ${INVENTORIES} (master data too small)`);
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
    admin,
    readerUrl,
    async tearDown() {
      await writer.query(`drop owned by ${role}`);
      await db.drop();
      await admin.query(`drop role if exists ${role}`);
      await admin.end();
    },
  };
}

/** Starts a server process (the API in --serve mode or the minimal handler); resolves with its pid and port. */
async function startServer(
  script: string,
  args: string[],
  readerUrl: URL,
  nodeFlags: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ child: ChildProcess; pid: number; port: number }> {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', script, ...args], {
    cwd: extraEnv.BENCH_CWD ?? process.cwd(),
    env: { ...process.env, ...extraEnv, BENCH_READER_URL: readerUrl.toString() },
    // Access log lines (API_LOG_LEVEL=info) go to /dev/null: written and paid for, not read.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    child.once('message', (m) => resolve((m as { port: number }).port));
  });
  return { child, pid: child.pid!, port };
}

/** Runs `command` under bash and returns its stdout and the children's CPU seconds (bash `times`). */
function runTimed(command: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ stdout: string; cpuS: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', '"$@"; rc=$?; echo; echo TIMES; times; exit $rc', 'bash', ...command], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`${command[0]} exited with ${code}: ${out.slice(-2000)}`));
      // `times`: the shell's own user/system time, then its children's.
      const lines = out.slice(out.lastIndexOf('TIMES')).trim().split('\n');
      const secs = (s: string) => s.split(/\s+/).map((t) => {
        const m = /^(\d+)m([\d.]+)s$/.exec(t);
        return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
      });
      const [u = 0, s = 0] = secs(lines[2] ?? '');
      resolve({ stdout: out, cpuS: u + s });
    });
  });
}

async function wrk(port: number, durationS: number): Promise<Load> {
  const script = path.join(here, 'wrk', 'inventory-by-id.lua');
  const { stdout, cpuS } = await runTimed(['wrk', '-t1', `-c${CONNECTIONS}`, `-d${durationS}s`, '--timeout', '5s', '-s', script, `http://127.0.0.1:${port}`, '--', String(INVENTORIES)]);
  const line = stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (!line) throw new Error(`wrk printed no summary: ${stdout}`);
  const r = JSON.parse(line.slice('WRK_JSON '.length)) as Record<string, number>;
  return {
    requests: r.requests!,
    seconds: r.durationUs! / 1e6,
    p50Ms: r.p50Us! / 1000,
    p99Ms: r.p99Us! / 1000,
    errors: r.connectErrors! + r.readErrors! + r.writeErrors! + r.statusErrors! + r.timeouts!,
    loadGenCpuS: cpuS,
  };
}

/** The API's query as a pgbench script: the id is built from a random number (pgbench variables are numeric). */
function pgbenchScript(dir: string): string {
  const sql = INVENTORY_BY_INVENTORY_ID.text.replace('$1', `('INV-' || lpad(:n::text, 6, '0'))`).replace(/\s+/g, ' ');
  const file = path.join(dir, 'inventory-by-id.sql');
  writeFileSync(file, `\\set n random(1, ${INVENTORIES})\n${sql};\n`);
  return file;
}

async function pgbench(readerUrl: URL, scriptFile: string, logDir: string, durationS: number): Promise<Load> {
  for (const f of readdirSync(logDir)) if (f.startsWith('pgbench_log')) rmSync(path.join(logDir, f));
  const env = {
    ...process.env,
    PGHOST: readerUrl.hostname,
    PGPORT: readerUrl.port || '5432',
    PGUSER: decodeURIComponent(readerUrl.username),
    PGPASSWORD: decodeURIComponent(readerUrl.password),
    PGDATABASE: readerUrl.pathname.slice(1),
    PGAPPNAME: APP_NAME.pgbench,
    // The API's session settings (its pool sets statement_timeout: PostgreSQL arms a timer per statement).
    PGOPTIONS: `-c statement_timeout=${STATEMENT_TIMEOUT_MS}`,
  };
  // One transaction in 10 logged (per-transaction latency in µs) for the percentiles.
  const { stdout, cpuS } = await runTimed(
    ['pgbench', '-n', '-M', 'prepared', '-c', String(CONNECTIONS), '-j', '1', '-T', String(durationS), '-f', scriptFile,
      '-l', `--log-prefix=${path.join(logDir, 'pgbench_log')}`, '--sampling-rate=0.1'],
    env,
  );
  const processed = Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1]);
  const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1]);
  const latencies: number[] = [];
  for (const f of readdirSync(logDir)) {
    if (!f.startsWith('pgbench_log')) continue;
    for (const line of readFileSync(path.join(logDir, f), 'utf8').split('\n')) {
      const us = Number(line.split(' ')[2]);
      if (Number.isFinite(us) && line) latencies.push(us);
    }
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => (latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN) / 1000;
  return { requests: processed, seconds: processed / tps, p50Ms: pct(0.5), p99Ms: pct(0.99), errors: failed, loadGenCpuS: cpuS };
}

/** One side for `durationS`, with the CPU of every process that serves it. */
async function measure(admin: pg.Client, side: Side, serverPid: number | undefined, run: () => Promise<Load>): Promise<Measurement> {
  const backends = sampleBackends(admin, APP_NAME[side]);
  await backends.start();
  const server0 = serverPid === undefined ? 0 : processCpuSeconds(serverPid)!;
  const machine0 = machineCpuSeconds();
  const load = await run();
  const machine1 = machineCpuSeconds();
  const server1 = serverPid === undefined ? 0 : processCpuSeconds(serverPid)!;
  const db = await backends.stop();
  const perReq = (s: number) => round((s / load.requests) * 1e6, 1);
  const serverS = server1 - server0;
  const busyS = machine1.busy - machine0.busy;
  return {
    rps: round(load.requests / load.seconds, 0),
    p50Ms: round(load.p50Ms),
    p99Ms: round(load.p99Ms),
    errors: load.errors,
    cpuUsPerRequest: {
      server: serverPid === undefined ? null : perReq(serverS),
      postgres: perReq(db.seconds),
      loadGenerator: perReq(load.loadGenCpuS),
      total: perReq(serverS + db.seconds + load.loadGenCpuS),
    },
    machine: {
      busyShare: round(busyS / (machine1.total - machine0.total), 3),
      unaccountedCoreS: round(busyS - serverS - db.seconds - load.loadGenCpuS),
    },
    postgresBackends: db.backends,
  };
}

const describe = (side: Side, m: Measurement) =>
  `${side.padEnd(8)} ${String(m.rps).padStart(6)} req/s  p50 ${m.p50Ms} ms  p99 ${m.p99Ms} ms  errors ${m.errors}  ` +
  `CPU µs/req: server ${m.cpuUsPerRequest.server ?? '-'}, postgres ${m.cpuUsPerRequest.postgres}, load gen ${m.cpuUsPerRequest.loadGenerator}, ` +
  `total ${m.cpuUsPerRequest.total}  (machine busy ${Math.round(m.machine.busyShare * 100)} %, unaccounted ${m.machine.unaccountedCoreS} core-s)`;

async function main(): Promise<void> {
  const config = loadConfig();
  const loadAverageAtStart = os.loadavg().map((x) => round(x));
  console.log(`setting up: ${INVENTORIES} inventories, master data, read-only role … (load average ${loadAverageAtStart.join(' ')})`);
  const env = await setUp(new URL(config.databaseUrl));
  const apiFlags = (process.env.API_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const api = await startServer(fileURLToPath(import.meta.url), ['--serve'], env.readerUrl, apiFlags);
  const minimalFlags = (process.env.MINIMAL_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const minimal = await startServer(path.join(here, 'api-minimal-server.ts'), [], env.readerUrl, minimalFlags);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-api-'));
  const script = pgbenchScript(tmp);
  let baseline: Awaited<ReturnType<typeof startServer>> | undefined;
  if (BASELINE_REV) {
    // The other revision's src/ and bench/ (git archive: the work tree and the index are not touched), this node_modules.
    const dir = path.join(tmp, 'baseline');
    mkdirSync(dir);
    execSync(`git archive ${JSON.stringify(BASELINE_REV)} src bench package.json tsconfig.json | tar -x -C ${JSON.stringify(dir)}`);
    symlinkSync(path.resolve('node_modules'), path.join(dir, 'node_modules'));
    baseline = await startServer(path.join(dir, 'bench', 'api-latency.ts'), ['--serve'], env.readerUrl, apiFlags, {
      BENCH_APP_NAME: APP_NAME.apiBaseline,
      BENCH_CWD: dir,
      API_LOG_LEVEL: process.env.API_BASELINE_LOG_LEVEL ?? API_LOG_LEVEL,
      BENCH_POOL_MAX: process.env.API_BASELINE_POOL_MAX ?? String(POOL_MAX),
    });
  }
  const runSide = (side: Side, durationS: number) => {
    if (side === 'api') return measure(env.admin, side, api.pid, () => wrk(api.port, durationS));
    if (side === 'minimal') return measure(env.admin, side, minimal.pid, () => wrk(minimal.port, durationS));
    if (side === 'apiBaseline') return measure(env.admin, side, baseline!.pid, () => wrk(baseline!.port, durationS));
    return measure(env.admin, side, undefined, () => pgbench(env.readerUrl, script, tmp, durationS));
  };
  try {
    // Warm-up: JIT, pools at full size, plans prepared, PostgreSQL caches.
    for (const side of SIDES) await runSide(side, WARMUP_S);
    const runs: Partial<Record<Side, Measurement>>[] = [];
    for (let i = 0; i < RUNS; i++) {
      const order = SIDES.map((_, k) => SIDES[(k + i) % SIDES.length]!);
      const round_: Partial<Record<Side, Measurement>> = {};
      for (const side of order) {
        round_[side] = await runSide(side, DURATION_S);
        await sleep(500);
      }
      runs.push(round_);
      console.log(`round ${i + 1}/${RUNS} (${order.join(', ')})`);
      for (const side of SIDES) console.log(`  ${describe(side, round_[side]!)}`);
    }
    const med = (side: Side, pick: (m: Measurement) => number | null) => {
      const xs = runs.map((r) => (r[side] ? pick(r[side]) : null)).filter((x): x is number => x !== null);
      return xs.length ? round(median(xs), 2) : null;
    };
    /** Per round, then the median: the ratio of two sides measured minutes apart is not the ratio of medians. */
    const ratio = (a: Side, b: Side, pick: (m: Measurement) => number) => {
      const xs = runs.flatMap((r) => (r[a] && r[b] ? [pick(r[a]) / pick(r[b])] : []));
      return xs.length ? round(median(xs)) : null;
    };
    const summarise = (side: Side) => ({
      rps: med(side, (m) => m.rps),
      p50Ms: med(side, (m) => m.p50Ms),
      p99Ms: med(side, (m) => m.p99Ms),
      cpuUsPerRequest: {
        server: med(side, (m) => m.cpuUsPerRequest.server),
        postgres: med(side, (m) => m.cpuUsPerRequest.postgres),
        loadGenerator: med(side, (m) => m.cpuUsPerRequest.loadGenerator),
        total: med(side, (m) => m.cpuUsPerRequest.total),
      },
    });
    const summary = {
      api: summarise('api'),
      minimal: summarise('minimal'),
      pgbench: summarise('pgbench'),
      ...(BASELINE_REV ? { apiBaseline: { rev: BASELINE_REV, ...summarise('apiBaseline') } } : {}),
      ratios: {
        apiServerCpuOverMinimal: ratio('api', 'minimal', (m) => m.cpuUsPerRequest.server!),
        apiTotalCpuOverMinimal: ratio('api', 'minimal', (m) => m.cpuUsPerRequest.total),
        apiRpsOverMinimal: ratio('api', 'minimal', (m) => m.rps),
        apiRpsOverPgbench: ratio('api', 'pgbench', (m) => m.rps),
        minimalRpsOverPgbench: ratio('minimal', 'pgbench', (m) => m.rps),
        ...(BASELINE_REV
          ? {
              apiServerCpuOverBaseline: ratio('api', 'apiBaseline', (m) => m.cpuUsPerRequest.server!),
              apiBaselineServerCpuOverMinimal: ratio('apiBaseline', 'minimal', (m) => m.cpuUsPerRequest.server!),
              apiRpsOverBaseline: ratio('api', 'apiBaseline', (m) => m.rps),
            }
          : {}),
      },
    };
    const targets = { apiServerCpuOverMinimalMax: 1.5, apiP99MaxMs: 10 };
    const errors = runs.reduce((n, r) => n + Object.values(r).reduce((k, m) => k + m.errors, 0), 0);
    const pass =
      (summary.ratios.apiServerCpuOverMinimal ?? Infinity) <= targets.apiServerCpuOverMinimalMax && (summary.api.p99Ms ?? Infinity) < targets.apiP99MaxMs && errors === 0;
    const out = {
      benchmark: 'GET /inventories/:id: the API vs a minimal node:http + pg handler vs pgbench, loaded by wrk / pgbench (C, one thread)',
      at: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        node: process.version,
        loadAverageAtStart,
        loadAverageAtEnd: os.loadavg().map((x) => round(x)),
      },
      setup: {
        inventories: INVENTORIES,
        connections: CONNECTIONS,
        loadGeneratorThreads: 1,
        poolMax: POOL_MAX,
        durationS: DURATION_S,
        runs: RUNS,
        sides: SIDES,
        smoke: SMOKE,
        apiLogLevel: API_LOG_LEVEL,
        ...(BASELINE_REV
          ? { apiBaseline: { rev: BASELINE_REV, logLevel: process.env.API_BASELINE_LOG_LEVEL ?? API_LOG_LEVEL, poolMax: Number(process.env.API_BASELINE_POOL_MAX ?? POOL_MAX) } }
          : {}),
        apiNodeFlags: apiFlags,
        loadGenerators: { api: 'wrk', minimal: 'wrk', pgbench: 'pgbench -M prepared -j 1' },
      },
      runs,
      median: summary,
      targets,
      errors,
      pass,
    };
    const file = path.join('bench', 'results', 'api.json');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
    console.log(`median of ${RUNS} rounds:`);
    for (const side of SIDES) {
      const s = side === 'apiBaseline' ? summary.apiBaseline! : summary[side];
      console.log(`  ${side.padEnd(8)} ${s.rps} req/s p50 ${s.p50Ms} ms p99 ${s.p99Ms} ms; CPU µs/req ${JSON.stringify(s.cpuUsPerRequest)}`);
    }
    console.log(`  API server CPU / minimal: ${summary.ratios.apiServerCpuOverMinimal} (target ≤ ${targets.apiServerCpuOverMinimalMax}); ` +
      `API p99 ${summary.api.p99Ms} ms (target < ${targets.apiP99MaxMs}) → ${pass ? 'PASS' : 'FAIL'} → ${file}`);
  } finally {
    for (const s of [api, minimal, ...(baseline ? [baseline] : [])]) {
      s.child.kill('SIGTERM');
      await new Promise((r) => s.child.once('exit', r));
    }
    rmSync(tmp, { recursive: true, force: true });
    await env.tearDown();
  }
}

if (process.argv.includes('--serve')) {
  await serve();
} else {
  await main();
}
