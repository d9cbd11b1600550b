/**
 * End-to-end latency and the rate the pipeline sustains (issues 10 and 16):
 * journal write → visible through the API, at fixed offered rates, with each
 * role in its own process (bridge; projector; views; api + monitor) as a
 * scaled-out deployment runs them, so that the CPU of every stage and its
 * backlog are measured apart.
 *
 * NEEDS DynamoDB Local IN MEMORY. On its on-disk SQLite file DynamoDB Local
 * accepts 100–250 appends/s, and every offered rate above that measures the
 * file, not the pipeline. Bring the stack up with
 * `npm run stack -- up --dynamodb-in-memory` (or STACK_DYNAMODB_IN_MEMORY=1,
 * which `npm run bench` passes on to `stack up` as well): the bench reads the
 * stack's state folder (STACK_DIR, default .stack) and refuses an on-disk
 * DynamoDB Local (`--allow-on-disk` runs anyway, flagged in the results); on a
 * stack it cannot see (docker compose, AWS) it warns and reports the accepted
 * rate for what it is.
 *
 * For each offered rate, after the pipeline has drained the previous one:
 * - a load generator process (bench/e2e-load.ts: the project's `flat`
 *   workload) writes at that rate for `--seconds`, reporting its appended
 *   events as it goes: the journal's accepted rate;
 * - a probe appends a receipt to its own inventory back to back (100 ms
 *   apart) and polls `GET /inventories/:id` every 10 ms until the new sequence
 *   number is visible: journal write → visible through the API; the GETs' own
 *   time is the API's share;
 * - every second the bench samples each stage's counters (bridge
 *   `cdc_bridge_records_relayed_total`, each consumer group's records applied
 *   from `consumer_batch_size_sum`, the load's appended events) and the CPU
 *   time of every process (/proc): backlog per stage over time = upstream
 *   count − stage count, and CPU per process;
 * - `pipeline_e2e_latency_seconds` (journal written_at → committed in
 *   PostgreSQL, one observation per event) is scraped before and after from
 *   the projector and the views processes, p50/p99 interpolated within buckets
 *   as Prometheus' histogram_quantile does. written_at is set by the writer
 *   right before its PutItem: the stream record's creation, to the
 *   millisecond (the stream's ApproximateCreationDateTime is rounded to the
 *   second, and is not carried into Kafka).
 * A stage's backlog grows when it rose by more than half a second of traffic
 * (and ≥ 200 records) from the start of the window to its end. A rate is
 * sustained when the journal accepted ≥ 95 % of it, no stage's backlog grew and
 * the pipeline drained within 5 s of the load stopping. The first rate that
 * is not names its limit: the generator or DynamoDB Local when the journal
 * did not accept the offer, else the first stage whose backlog grew — with
 * the CPU per process as evidence (a Node role near 100 % of a core is
 * saturated; the whole machine near 100 % of its cores means the stages are
 * starving each other).
 *
 * The bench restarts an in-memory DynamoDB Local empty before it starts
 * (its appends slow down as stream records accumulate; --keep-dynamodb opts
 * out).
 *
 * Two measures find the stage that limits the pipeline, whatever the rates:
 * `--backlog N` (before the rates) writes N events flat out with nothing
 * else running — the journal's ceiling — then starts the bridge alone on the
 * full stream and, once it has relayed them, the projector and views
 * together on the full topic: each stage's rate and CPU per event when it has
 * the machine to itself; `--ceiling S` (after the rates) offers the journal
 * as much as it takes for S seconds with every stage running. Both default on
 * for windows of 30 s or more (10,000 events, S = --seconds) and off for a
 * smoke run.
 *
 * Results: bench/results/e2e-latency.json — `results` (one row per offered
 * rate: the fields bench/run-all.ts tabulates, plus `stages`, `cpu`,
 * `timeline`), `ceiling`, `stagesAlone`, `highestSustainedRate`, `limit`.
 *
 *   STACK_DYNAMODB_IN_MEMORY=1 npm run bench -- --only=e2e-latency
 *   node --import tsx bench/e2e-latency.ts [--rates 500,1000,2000] [--seconds 30] [--backlog 10000] [--ceiling 30] [--cpu-prof dir] [--allow-on-disk]
 *   node --import tsx bench/e2e-latency.ts --rates 200 --seconds 10      # smoke
 */
import { randomBytes } from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createJournal } from '../src/command/journal.js';
import { decide, evolve, initialState, type InventoryState } from '../src/command/inventory.js';
import { generateMasterData, loadMasterData } from '../src/command/master-data.js';
import { loadConfig } from '../src/config/config.js';
import { defaultSchemasDir, loadCatalog } from '../src/events/catalog.js';
import { createDynamo } from '../src/source/dynamodb.js';
import { createPool } from '../src/db/db.js';
import { ensureReaderRole, migrate } from '../src/db/migrate.js';
import { privateDynamoPort, startPrivateDynamo, type PrivateDynamo } from './private-dynamo.js';
import { startStreamVisibilityProbe, type VisibilityResult } from './stream-visibility.js';

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '500,1000,2000' },
    seconds: { type: 'string', default: '30' },
    inventories: { type: 'string', default: '500' },
    out: { type: 'string', default: 'bench/results/e2e-latency.json' },
    'allow-on-disk': { type: 'boolean', default: false },
    /** Keep the running in-memory DynamoDB Local and what it holds (by default the bench restarts it empty: see restartDynamo). */
    'keep-dynamodb': { type: 'boolean', default: false },
    /** Before the rates: this many events written with no pipeline running, then each stage started alone on the backlog (its ceiling). 0 = skip; default 10,000 when --seconds ≥ 30, else 0. */
    backlog: { type: 'string' },
    /** After the rates, one window of this many seconds flat out (the generator as fast as the journal takes it): each stage's ceiling. 0 = none; default --seconds when ≥ 30, else 0. */
    ceiling: { type: 'string' },
    /** Writes CPU profiles of each role process into <folder>/<role>/ (node --cpu-prof: one file per thread, tsx's loader thread included). */
    'cpu-prof': { type: 'string' },
    /** A private in-memory DynamoDB Local on its own port (bench/private-dynamo.ts) instead of the stack's: nothing shared is restarted. */
    'private-dynamodb': { type: 'boolean', default: false },
    /** Run the roles from another checkout (e.g. `git archive` of an earlier commit), for before/after runs side by side. */
    'roles-dir': { type: 'string' },
    /** The connector's batch settings: `bench` (maxRecords 1000, poll 50 ms, idle 100 ms), `shipped` (connectors/journal.json of the roles' checkout) or JSON. */
    batch: { type: 'string', default: 'bench' },
  },
});
const privatePort = values['private-dynamodb'] ? privateDynamoPort() : undefined;
// Before the config is read: the roles, the generator and the probe all inherit it.
if (privatePort !== undefined) process.env.DYNAMODB_ENDPOINT = `http://127.0.0.1:${privatePort}`;
const rolesDir = path.resolve(values['roles-dir'] ?? '.');
const rates = values.rates!.split(',').map(Number);
const seconds = Number(values.seconds);
// A full run (windows of 30 s or more) measures the ceilings too; a smoke run (`--seconds 10`) does not.
const full = seconds >= 30;
const ceilingSeconds = Number(values.ceiling ?? (full ? seconds : 0));
const backlog = Number(values.backlog ?? (full ? 10_000 : 0));
const config = loadConfig();
const pct = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]! : null);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (v: number, digits = 0) => Math.round(v * 10 ** digits) / 10 ** digits;

// ---------------------------------------------------------------- the stack's DynamoDB mode

type DynamoMode = 'in-memory' | 'on-disk' | 'unknown';
function dynamoMode(): DynamoMode {
  const file = path.join(process.env.STACK_DIR ?? '.stack', 'dynamodb', 'in-memory');
  if (!existsSync(file)) return 'unknown';
  return readFileSync(file, 'utf8').trim() === '1' ? 'in-memory' : 'on-disk';
}

/**
 * Restarts the local stack's in-memory DynamoDB Local, empty. In memory as on
 * disk, DynamoDB Local looks up stream records by scanning every record it
 * ever kept (deleted tables' included), so its appends slow down as runs
 * accumulate: measured on this machine, 15 appends/s flat out after three
 * bench runs against 121/s from a fresh start. An in-memory DynamoDB Local
 * holds bench scratch tables only (it loses them whenever it stops), so the
 * bench starts it afresh; --keep-dynamodb opts out. Its port is the one
 * DYNAMODB_ENDPOINT names, whatever STACK_DYNAMODB_PORT says.
 */
function restartDynamo() {
  const port = new URL(config.dynamodbEndpoint).port || '80';
  console.error(`e2e-latency: restarting the in-memory DynamoDB Local on port ${port} (empty; --keep-dynamodb keeps it)`);
  const r = spawnSync('bash', ['scripts/stack.sh', 'restart', 'dynamodb'], { env: { ...process.env, STACK_DYNAMODB_PORT: port }, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error('restarting DynamoDB Local failed (see above)');
}

// ---------------------------------------------------------------- CPU time per process (/proc)

const CLK_TCK = 100; // USER_HZ: 100 on every Linux the stack runs on
/** utime + stime (+ reaped children's when `withChildren`) of one process, in seconds; undefined once it is gone. */
function cpuSeconds(pid: number, withChildren = false): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state ppid ... utime(14) stime(15) cutime(16) cstime(17) → indexes 11..14 here.
    const own = Number(f[11]) + Number(f[12]);
    return (withChildren ? own + Number(f[13]) + Number(f[14]) : own) / CLK_TCK;
  } catch {
    return undefined;
  }
}
/** A server and all its live children (PostgreSQL's backends), plus the children it has reaped. */
function treeCpuSeconds(pid: number): number | undefined {
  const root = cpuSeconds(pid, true);
  if (root === undefined) return undefined;
  let sum = root;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === pid) sum += (Number(f[11]) + Number(f[12])) / CLK_TCK;
    } catch {
      // gone between readdir and read
    }
  }
  return sum;
}
/** Busy and total CPU seconds of the whole machine (/proc/stat), every user's processes included. */
function machineSeconds(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const total = line.reduce((s, v) => s + v, 0);
  const idle = line[3]! + line[4]!;
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
}
/** The stack's server processes from its state folder (pid files), if this is the local stack. */
function stackPids(privateDynamoPid?: number): Record<string, number> {
  const dir = process.env.STACK_DIR ?? '.stack';
  const out: Record<string, number> = {};
  for (const svc of ['dynamodb', 'kafka', 'registry', 'postgres', 'prometheus']) {
    const file = path.join(dir, svc, 'pid');
    if (existsSync(file)) out[svc] = Number(readFileSync(file, 'utf8').trim());
  }
  if (privateDynamoPid !== undefined) out.dynamodb = privateDynamoPid;
  return out;
}

// ---------------------------------------------------------------- metrics scraping

type Buckets = Map<number, number>;
async function scrape(url: string): Promise<string> {
  return fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.text()).catch(() => '');
}
/** Sum of a metric's samples whose line contains every `match`. */
function metricSum(text: string, name: string, ...match: string[]): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!match.every((m) => line.includes(m))) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}
function metricMax(text: string, name: string): number | undefined {
  let max: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) max = Math.max(max ?? -Infinity, v);
  }
  return max;
}
/** Cumulative bucket counts of one histogram, summed over the samples whose line contains every `match`. */
function bucketsOf(text: string, name: string, ...match: string[]): Buckets {
  const buckets: Buckets = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`) || !match.every((m) => line.includes(m))) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le === undefined || !Number.isFinite(value)) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + value);
  }
  return buckets;
}

/** Cumulative bucket counts of the e2e latency histogram of one view, summed over labels. */
function e2eHistogram(text: string, view: string): Buckets {
  return bucketsOf(text, 'pipeline_e2e_latency_seconds', `view="${view}"`);
}

/** histogram_quantile over the difference of two scrapes, in milliseconds. */
export function histogramQuantile(before: Buckets, after: Buckets, q: number): { ms: number | null; count: number } {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const cum = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const count = cum.at(-1) ?? 0;
  if (count <= 0) return { ms: null, count: 0 };
  const rank = q * count;
  const i = cum.findIndex((c) => c >= rank);
  const upper = bounds[i]!;
  const lower = i === 0 ? 0 : bounds[i - 1]!;
  // Above the last finite bucket Prometheus answers that bucket's bound: so do we.
  if (upper === Infinity) return { ms: lower * 1000, count };
  const below = i === 0 ? 0 : cum[i - 1]!;
  const inBucket = cum[i]! - below;
  const s = lower + (upper - lower) * (inBucket > 0 ? (rank - below) / inBucket : 1);
  return { ms: Math.round(s * 1000), count };
}

// ---------------------------------------------------------------- processes

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

interface Child {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}
function node(file: string, args: string[], env: Record<string, string>, nodeArgs: string[] = [], cwd = process.cwd()): Child {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', file, ...args], {
    cwd,
    env: { ...process.env, LOG_LEVEL: 'warn', METRICS_PORT: '0', PROMETHEUS_TARGETS_DIR: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-200_000)));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-200_000)));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  return { child, exited, output: () => out };
}

// ---------------------------------------------------------------- results

interface StageResult {
  /** Records per second through the stage during the load window. */
  throughputPerSecond: number;
  /** Backlog (records upstream of the stage not yet through it): 3–8 s into the window, its last 5 s, its max. */
  lagStart: number;
  lagEnd: number;
  lagMax: number;
  /** Least-squares slope of the backlog over the window, records/s. */
  lagSlopePerSecond: number;
  growing: boolean;
}
interface CpuResult {
  /** CPU seconds used during the load window. */
  seconds: number;
  /** Of one core, over the window. */
  percent: number;
  /** CPU milliseconds per event the journal accepted: what the process costs per event, whatever else runs on the machine. */
  msPerEvent: number | null;
}
interface Sample {
  /** Seconds since the load started. */
  t: number;
  /** Events through each stage since the window started: appended to the journal, relayed to Kafka, applied by each group. */
  journal: number;
  relayed: number;
  projected: number;
  aggregated: number;
  relayLag: number;
  projectorLag: number;
  viewsLag: number;
  bridgeWrittenAtAgeMs: number | null;
  cpuPercent: Record<string, number>;
}
interface StageAlone {
  events: number;
  ratePerSecond: number;
  seconds: number;
  cpuPercent: Record<string, number>;
  cpuMsPerEvent: Record<string, number>;
  machineBusyPercent: number;
}
interface StagesAlone {
  events: number;
  journal: { events: number; ratePerSecond: number; seconds: number; cpuMsPerEvent: Record<string, number>; machineBusyPercent: number };
  bridge: StageAlone;
  /** The projector and the views groups together (rate: the slower of the two). */
  consumers: StageAlone;
}
interface RateResult {
  offeredRate: number;
  acceptedRate: number | null;
  loadConcurrency: number;
  probes: number;
  /** Probe: journal append → new sequence number visible through GET /inventories/:id. */
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** The API's share: the probe's GETs themselves. */
  apiGetP50Ms: number | null;
  apiGetP99Ms: number | null;
  /** pipeline_e2e_latency_seconds of the projector's `inventories` view: written_at (stream record created) → committed. */
  committedEvents: number;
  commitP50Ms: number | null;
  commitP99Ms: number | null;
  /** The same for the views group (its stock_by_warehouse_zone view). */
  viewsCommittedEvents: number;
  viewsCommitP50Ms: number | null;
  viewsCommitP99Ms: number | null;
  /** Bridge: relay time − written_at of the last relayed record, sampled each second. */
  bridgeAgeP50Ms: number | null;
  bridgeAgeP99Ms: number | null;
  stages: { relay: StageResult; projector: StageResult; views: StageResult };
  lagGrowing: boolean;
  /** Summed backlog of the consumer groups at the end of the load. */
  lagEnd: number;
  /** Seconds from the end of the load until every stage had caught up (null: not within the drain timeout). */
  drainSeconds: number | null;
  windowSeconds: number;
  cpu: Record<string, CpuResult>;
  /** Busy share of the machine's cores (every process of every user), percent of all cores. */
  machineBusyPercent: number;
  /**
   * CPU milliseconds per accepted event summed over every process of the run (roles, generator, bench,
   * stack servers; not `otherProcesses`), and the rate all the machine's cores would carry at that cost:
   * what this machine could take with nothing else running (an estimate: per-event costs fall as batches grow).
   */
  cpuMsPerEventTotal: number | null;
  machineCapacityEstimate: number | null;
  /** Per-stage latency over the window (stageLatencyOf). */
  stageLatency: ReturnType<typeof stageLatencyOf>;
  /** Errors the bridge's Kafka client retried by itself during the window, by code (CONCURRENT_TRANSACTIONS: a transaction began before the previous one's markers were written). */
  bridgeClientRetries: Record<string, number>;
  /** DynamoDB Local's part measured apart: written_at → a reader polling the stream every 10 ms sees it (bench/stream-visibility.ts). */
  streamVisibility: VisibilityResult;
  sustained: boolean;
  /** Why not sustained (null when sustained). */
  limit: string | null;
  timeline: Sample[];
}

/** The backlog series of one stage → its figures. */
function stageOf(series: { t: number; lag: number }[], throughputPerSecond: number, windowS: number, rate: number): StageResult {
  const during = series.filter((s) => s.t <= windowS);
  const early = during.filter((s) => s.t >= 3 && s.t <= 8).map((s) => s.lag);
  const late = during.filter((s) => s.t > windowS - 5).map((s) => s.lag);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const fit = during.filter((s) => s.t >= 3);
  const mt = mean(fit.map((s) => s.t));
  const ml = mean(fit.map((s) => s.lag));
  const den = fit.reduce((a, s) => a + (s.t - mt) ** 2, 0);
  const slope = den > 0 ? fit.reduce((a, s) => a + (s.t - mt) * (s.lag - ml), 0) / den : 0;
  const lagStart = mean(early);
  const lagEnd = mean(late);
  return {
    throughputPerSecond: round(throughputPerSecond),
    lagStart: round(lagStart),
    lagEnd: round(lagEnd),
    lagMax: Math.max(0, ...during.map((s) => s.lag)),
    lagSlopePerSecond: round(slope, 1),
    growing: lagEnd - lagStart > Math.max(200, 0.5 * rate),
  };
}

/** The connector's batch settings (see --batch). */
function batchSettings(): Record<string, number> {
  if (values.batch === 'bench') return { maxRecords: 1000, pollIntervalMs: 50, idlePollIntervalMs: 100 };
  if (values.batch === 'shipped') return (JSON.parse(readFileSync(path.join(rolesDir, 'connectors/journal.json'), 'utf8')) as { batch: Record<string, number> }).batch;
  return JSON.parse(values.batch!) as Record<string, number>;
}

/** Increase of `pipeline_client_retries_total` by code between two scrapes. */
function retriesByCode(before: string, after: string): Record<string, number> {
  const byCode = (text: string) => {
    const m = new Map<string, number>();
    for (const line of text.split('\n')) {
      if (!line.startsWith('pipeline_client_retries_total{')) continue;
      const code = /code="([^"]*)"/.exec(line)?.[1] ?? '?';
      m.set(code, (m.get(code) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
    }
    return m;
  };
  const b = byCode(before);
  return Object.fromEntries([...byCode(after)].map(([code, n]) => [code, n - (b.get(code) ?? 0)]).filter(([, n]) => Number(n) > 0));
}

/**
 * Per-stage latency over one window (p50 / p99 ms from the histograms' difference), one record per
 * observation: the bridge's three stages, then each group's two (produced → consumed holds the
 * bridge's commit), and the whole of it (journal → committed in PostgreSQL).
 */
function stageLatencyOf(before: Record<'bridge' | 'projector' | 'views', string>, after: Record<'bridge' | 'projector' | 'views', string>) {
  const q = (name: string, text: 'bridge' | 'projector' | 'views', ...match: string[]) => {
    const b = bucketsOf(before[text], name, ...match);
    const a = bucketsOf(after[text], name, ...match);
    const p50 = histogramQuantile(b, a, 0.5);
    return { p50Ms: p50.ms, p99Ms: histogramQuantile(b, a, 0.99).ms, count: p50.count };
  };
  const bridge = (stage: string) => q('cdc_bridge_stage_latency_seconds', 'bridge', `stage="${stage}"`);
  const group = (text: 'projector' | 'views', stage: string) => q('consumer_stage_latency_seconds', text, `stage="${stage}"`);
  return {
    journalToRead: bridge('journal_to_read'),
    readToProduced: bridge('read_to_produced'),
    producedToCommitted: bridge('produced_to_committed'),
    projector: { producedToConsumed: group('projector', 'produced_to_consumed'), consumedToCommitted: group('projector', 'consumed_to_committed'), journalToCommitted: q('pipeline_e2e_latency_seconds', 'projector', 'view="inventories"') },
    views: { producedToConsumed: group('views', 'produced_to_consumed'), consumedToCommitted: group('views', 'consumed_to_committed'), journalToCommitted: q('pipeline_e2e_latency_seconds', 'views', 'view="stock_by_warehouse_zone"') },
  };
}

async function main() {
  let privateDynamo: PrivateDynamo | undefined;
  if (privatePort !== undefined) privateDynamo = await startPrivateDynamo(privatePort);
  process.once('exit', () => privateDynamo?.child.kill('SIGKILL'));
  const mode = privateDynamo ? 'in-memory' : dynamoMode();
  if (mode === 'on-disk' && !values['allow-on-disk']) {
    console.error(
      'e2e-latency: DynamoDB Local runs on its on-disk file here (100–250 appends/s): every offered rate would measure the file.\n' +
        '  Restart the stack in memory: npm run stack -- down && npm run stack -- up --dynamodb-in-memory\n' +
        '  (npm run bench: STACK_DYNAMODB_IN_MEMORY=1 npm run bench -- --only=e2e-latency), or pass --allow-on-disk.',
    );
    process.exit(1);
  }
  if (mode !== 'in-memory') {
    console.error(`\n!!! e2e-latency: DynamoDB is ${mode === 'on-disk' ? 'ON DISK' : 'not the local stack (no STACK_DIR/dynamodb/in-memory)'}: the accepted rate below is the journal's limit, not the pipeline's.\n`);
  }
  if (mode === 'in-memory' && !values['keep-dynamodb'] && !privateDynamo) restartDynamo();
  const run = randomBytes(3).toString('hex');
  const dbName = `bench_e2e_${run}`;
  const admin = new URL(config.databaseUrl);
  admin.pathname = '/postgres';
  const adminClient = new pg.Client({ connectionString: admin.toString() });
  await adminClient.connect();
  await adminClient.query(`create database ${dbName}`);
  const dbUrl = new URL(config.databaseUrl);
  dbUrl.pathname = `/${dbName}`;
  const pool = createPool(dbUrl.toString(), { max: 2 });
  await migrate(pool, 'migrations');
  const reader = `bench_reader_${run}`;
  await ensureReaderRole(pool, reader, 'bench-reader');
  await loadMasterData(pool, generateMasterData());
  const readerUrl = new URL(dbUrl);
  readerUrl.username = reader;
  readerUrl.password = 'bench-reader';

  const table = `bench-e2e-${run}`;
  const topic = `bench.e2e.${run}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-'));
  const connectorFile = path.join(dir, 'connector.json');
  writeFileSync(connectorFile, JSON.stringify({
    name: 'bench', table, topic, partitions: 6, aggregate: 'inventory',
    mapping: { persistenceId: 'pkey', sequenceNr: 'sequence_nr', eventType: 'event_type', schemaVersion: 'schema_version', payload: 'payload', payloadCodec: 'avro', writtenAt: 'written_at', correlationId: 'correlation_id', causationId: 'causation_id', eventId: 'event_id' },
    checkpointTopic: `${topic}.checkpoints`, batch: batchSettings(),
  }));
  const apiPort = await freePort();
  const ports = { bridge: await freePort(), projector: await freePort(), views: await freePort(), api: await freePort() };
  const env = {
    DATABASE_URL: dbUrl.toString(),
    API_DATABASE_URL: readerUrl.toString(),
    CONNECTOR_FILE: connectorFile,
    GROUP_PREFIX: `bench-${run}.`,
    API_PORT: String(apiPort),
    LAG_POLL_INTERVAL_MS: '1000',
  };
  const setup = node('src/main/cli.ts', ['setup'], env, [], rolesDir);
  if ((await setup.exited) !== 0) throw new Error(setup.output());
  // One process per role (api and monitor together), as a scaled-out deployment runs them.
  const roleNames = ['bridge', 'projector', 'views', 'api'] as const;
  type RoleName = (typeof roleNames)[number];
  const profDir = values['cpu-prof'];
  if (profDir) mkdirSync(profDir, { recursive: true });
  const roles: Partial<Record<RoleName, Child>> = {};
  const startRole = (r: RoleName) =>
    (roles[r] ??= node('src/main/cli.ts', ['run', '--roles', r === 'api' ? 'api,monitor' : r], { ...env, METRICS_PORT: String(ports[r]) },
      profDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profDir, r)}`] : [], rolesDir));
  const started = () => roleNames.filter((r) => roles[r]);
  const metricsUrl = (r: RoleName) => `http://127.0.0.1:${ports[r]}/metrics`;
  const results: RateResult[] = [];
  let ceiling: RateResult | undefined;
  let stagesAlone: StagesAlone | undefined;
  const loadBefore = loadavg();
  let pipelineOk = true;
  try {
    const api = `http://127.0.0.1:${apiPort}`;
    const whenReady = async (names: readonly RoleName[]) => {
      const ready = async () => {
        const ok = await Promise.all(names.map((r) => fetch(`http://127.0.0.1:${ports[r]}/readyz`).then((x) => x.ok).catch(() => false)));
        return ok.every(Boolean) && (!names.includes('api') || (await fetch(`${api}/healthz`).catch(() => undefined))?.ok === true);
      };
      for (let i = 0; !(await ready()); i++) {
        for (const r of names) if (roles[r]!.child.exitCode !== null) throw new Error(`${r} exited: ${roles[r]!.output()}`);
        if (i > 360) throw new Error(`${names.join(', ')} did not become ready within 3 minutes`);
        await sleep(500);
      }
    };
    if (backlog > 0) stagesAlone = await backlogPhase();
    for (const r of roleNames) startRole(r);
    await whenReady(roleNames);

    /**
     * Each stage alone against a backlog, started one after the other so each
     * has the machine to itself: `backlog` events written flat out with no
     * pipeline running (the journal's ceiling), then the bridge started on
     * the full stream (its relay ceiling), then the projector and the views
     * together on the full topic (their apply ceilings).
     */
    async function backlogPhase(): Promise<StagesAlone> {
      const stack = stackPids(privateDynamo?.child.pid);
      const cpuOfPids = (pids: Record<string, number>) =>
        Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, (k === 'postgres' ? treeCpuSeconds(pid) : cpuSeconds(pid, true)) ?? 0]));
      const loader = node('bench/e2e-load.ts', [table, '0', '3600', values.inventories!, '64', `B-${run}`, String(backlog)], env);
      const m0 = machineSeconds();
      const s0 = cpuOfPids(stack);
      let summary: { events?: number; ratePerSecond?: number; cpuSeconds?: number } = {};
      if ((await loader.exited) !== 0) throw new Error(`backlog load failed: ${loader.output()}`);
      for (const l of loader.output().split('\n')) if (l.startsWith('S ')) summary = JSON.parse(l.slice(2)) as typeof summary;
      const m1 = machineSeconds();
      const s1 = cpuOfPids(stack);
      const events = summary.events ?? backlog;
      const loadS = (summary.events ?? 0) / (summary.ratePerSecond ?? 1);
      const msPer = (sec: number) => round((sec * 1000) / events, 3);
      const journalStage = {
        events,
        ratePerSecond: round(summary.ratePerSecond ?? 0, 1),
        cpuMsPerEvent: { loadGenerator: msPer(summary.cpuSeconds ?? 0), ...Object.fromEntries(Object.keys(stack).map((k) => [k, msPer(s1[k]! - s0[k]!)])) },
        machineBusyPercent: round(((m1.busy - m0.busy) / (m1.total - m0.total)) * 100),
        seconds: round(loadS, 1),
      };
      console.log(JSON.stringify({ backlog: 'journal', ...journalStage }));

      /** Starts `names`, then follows `count` until it reaches `target`: rate from its first move to the end, CPU per event of each process. */
      const drain = async (names: RoleName[], count: (texts: Record<string, string>) => number, target: number) => {
        for (const r of names) startRole(r);
        const pids = Object.fromEntries(names.map((r) => [r, roles[r]!.child.pid!]));
        const all = { ...pids, ...stack };
        let first: { t: number; n: number; cpu: Record<string, number>; m: ReturnType<typeof machineSeconds> } | undefined;
        const deadline = Date.now() + 15 * 60_000;
        for (;;) {
          const texts = Object.fromEntries(await Promise.all(started().map(async (r) => [r, await scrape(metricsUrl(r))] as const)));
          const n = count(texts);
          const now = Date.now();
          if (!first && n > 0) first = { t: now, n, cpu: cpuOfPids(all), m: machineSeconds() };
          if (first && n >= target) {
            const cpu = cpuOfPids(all);
            const m = machineSeconds();
            const s = (now - first.t) / 1000;
            const moved = n - first.n;
            return {
              events: moved,
              ratePerSecond: round(moved / s, 1),
              seconds: round(s, 1),
              cpuPercent: Object.fromEntries(Object.keys(all).map((k) => [k, round(((cpu[k]! - first!.cpu[k]!) / s) * 100)])),
              cpuMsPerEvent: Object.fromEntries(Object.keys(all).map((k) => [k, round(((cpu[k]! - first!.cpu[k]!) * 1000) / moved, 3)])),
              machineBusyPercent: round(((m.busy - first.m.busy) / (m.total - first.m.total)) * 100),
            };
          }
          if (now > deadline) throw new Error(`backlog drain of ${names.join(', ')} did not finish within 15 minutes (${n} of ${target})`);
          for (const r of names) if (roles[r]!.child.exitCode !== null) throw new Error(`${r} exited: ${roles[r]!.output()}`);
          await sleep(100);
        }
      };
      const relayed = (t: Record<string, string>) => metricSum(t.bridge ?? '', 'cdc_bridge_records_relayed_total');
      const bridgeStage = await drain(['bridge'], relayed, events);
      console.log(JSON.stringify({ backlog: 'bridge', ...bridgeStage }));
      const target = relayed({ bridge: await scrape(metricsUrl('bridge')) });
      // Both groups read the same topic; each is followed to the bridge's count at their start.
      const consumed = (t: Record<string, string>) => Math.min(metricSum(t.projector ?? '', 'consumer_batch_size_sum'), metricSum(t.views ?? '', 'consumer_batch_size_sum'));
      const consumerStage = await drain(['projector', 'views'], consumed, target);
      console.log(JSON.stringify({ backlog: 'projector+views', ...consumerStage }));
      return { events: backlog, journal: journalStage, bridge: bridgeStage, consumers: consumerStage };
    }

    const catalog = loadCatalog(defaultSchemasDir('inventory'));
    const journal = createJournal({ ddb: createDynamo({ endpoint: config.dynamodbEndpoint, region: config.awsRegion, accessKeyId: 'x', secretAccessKey: 'x' }), table, catalog });
    const probeId = `PROBE-${run}`;
    let probe: InventoryState = initialState(`inventory-${probeId}`);
    let probeAppends = 0;
    const append = async (cmd: Parameters<typeof decide>[1]) => {
      const events = decide(probe, cmd);
      await journal.append({ persistenceId: probe.persistenceId, expectedSequenceNr: probe.sequenceNr, events: events.map((e) => ({ type: e.type, data: e.data as unknown as Record<string, unknown> })) });
      probe = events.reduce((s, e) => evolve(s, e), probe);
      probeAppends += events.length;
      return { seq: probe.sequenceNr, at: Date.now() };
    };
    await append({ kind: 'create', inventoryId: probeId, productId: 'P-000001', warehouseId: 'WH-TYO', zoneId: 'WH-TYO-AMBIENT', productStorageCondition: 'AMBIENT', zoneType: 'AMBIENT' });
    // The whole path works before anything is measured: the probe's inventory is readable through the API.
    for (let i = 0; !(await fetch(`${api}/inventories/${probeId}`).then((r) => r.ok).catch(() => false)); i++) {
      if (i > 600) throw new Error('the probe inventory did not become visible through the API within 2 minutes');
      await sleep(200);
    }

    const counters = async () => {
      const [b, p, v] = await Promise.all([scrape(metricsUrl('bridge')), scrape(metricsUrl('projector')), scrape(metricsUrl('views'))]);
      return countersOf(b, p, v);
    };
    const countersOf = (b: string, p: string, v: string) => {
      return {
        bridgeText: b, projectorText: p, viewsText: v,
        relayed: metricSum(b, 'cdc_bridge_records_relayed_total'),
        projector: metricSum(p, 'consumer_batch_size_sum'),
        views: metricSum(v, 'consumer_batch_size_sum'),
        bridgeAgeMs: metricMax(b, 'cdc_bridge_written_at_age_ms') ?? null,
      };
    };
    const stack = stackPids(privateDynamo?.child.pid);
    const cpuNow = (loaderPid: number | undefined): Record<string, number | undefined> => ({
      ...Object.fromEntries(started().map((r) => [r, cpuSeconds(roles[r]!.child.pid!)])),
      loadGenerator: loaderPid === undefined ? undefined : cpuSeconds(loaderPid),
      bench: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
      ...Object.fromEntries(Object.entries(stack).map(([svc, pid]) => [svc, svc === 'postgres' ? treeCpuSeconds(pid) : cpuSeconds(pid, true)])),
    });

    /** Waits until every stage has caught up with what was written (records), up to `timeoutMs`; returns seconds taken or null. */
    const drained = async (written: () => number, base: Awaited<ReturnType<typeof counters>>, timeoutMs: number) => {
      const t0 = Date.now();
      while (Date.now() - t0 < timeoutMs) {
        const c = await counters();
        const relayed = c.relayed - base.relayed;
        if (relayed >= written() && c.projector >= c.relayed - 2 && c.views >= c.relayed - 2) return (Date.now() - t0) / 1000;
        await sleep(200);
      }
      return null;
    };

    /** One window: `rate` offered for `secs` (rate 0: flat out, as fast as the journal takes appends). */
    const measure = async (rate: number, secs: number): Promise<RateResult> => {
      // Start from an empty pipeline: the previous rate's tail (and the canary) applied everywhere.
      const settle = await counters();
      await drained(() => 0, settle, 60_000);
      const base = await counters();
      const probeBase = probeAppends;
      const histBefore = { projector: e2eHistogram(base.projectorText, 'inventories'), views: e2eHistogram(base.viewsText, 'stock_by_warehouse_zone') };
      // Enough writers that the generator is never the limit by latency alone (16 in flight carry ~1,000/s at 16 ms a put).
      const concurrency = rate === 0 ? 64 : Math.max(16, Math.ceil(rate / 25));
      const loader = node('bench/e2e-load.ts', [table, String(rate), String(secs), values.inventories!, String(concurrency), `L${rate || 'max'}-${run}`], env);
      let loaded = 0;
      let summary: { events?: number; ratePerSecond?: number; cpuSeconds?: number } = {};
      let pending = '';
      let ready!: () => void;
      const writing = new Promise<void>((r) => (ready = r));
      loader.child.stdout!.on('data', (d: Buffer) => {
        pending += d.toString();
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const l of lines) {
          if (l.startsWith('R ')) ready();
          else if (l.startsWith('P ')) loaded = Number(l.split(' ')[2]);
          else if (l.startsWith('S ')) summary = JSON.parse(l.slice(2)) as typeof summary;
        }
      });
      // The window opens when the generator has loaded its code and starts writing (tsx start-up is not load).
      await Promise.race([writing, loader.exited]);
      const t0 = Date.now();
      const visibility = startStreamVisibilityProbe({ endpoint: config.dynamodbEndpoint, table, writtenAt: 'written_at' });
      const cpu0 = cpuNow(loader.child.pid);
      const m0 = machineSeconds();
      const timeline: Sample[] = [];
      let loadDone = false;
      void loader.exited.then(() => (loadDone = true));

      // Sampler: once a second until the load has ended and drained (or the drain timed out).
      let sampling = true;
      const sampler = (async () => {
        let prevCpu = cpu0;
        let prevT = Date.now();
        while (sampling) {
          await sleep(1000);
          const c = await counters();
          const now = Date.now();
          const cpu = cpuNow(loader.child.pid);
          const journalCount = loaded + (probeAppends - probeBase);
          const relayed = c.relayed - base.relayed;
          const cpuPercent: Record<string, number> = {};
          for (const [k, v] of Object.entries(cpu)) {
            const p = prevCpu[k];
            if (v !== undefined && p !== undefined) cpuPercent[k] = round(((v - p) / ((now - prevT) / 1000)) * 100);
          }
          prevCpu = { ...prevCpu, ...Object.fromEntries(Object.entries(cpu).filter(([, v]) => v !== undefined)) };
          prevT = now;
          timeline.push({
            t: round((now - t0) / 1000, 1),
            journal: journalCount,
            relayed,
            projected: c.projector - base.projector,
            aggregated: c.views - base.views,
            relayLag: Math.max(0, journalCount - relayed),
            projectorLag: Math.max(0, c.relayed - c.projector - (base.relayed - base.projector)),
            viewsLag: Math.max(0, c.relayed - c.views - (base.relayed - base.views)),
            bridgeWrittenAtAgeMs: c.bridgeAgeMs,
            cpuPercent,
          });
        }
      })();

      // The probe, back to back until the load stops.
      const latencies: number[] = [];
      const gets: number[] = [];
      while (!loadDone && Date.now() - t0 < (secs + 30) * 1000) {
        const w = await append({ kind: 'receive', quantity: 1, lotNumber: 'PROBE', supplierId: null, expiryDate: null });
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline) {
          const g0 = performance.now();
          const res = await fetch(`${api}/inventories/${probeId}`).catch(() => undefined);
          const seen = res?.ok && ((await res.json()) as { lastSequenceNr: number }).lastSequenceNr >= w.seq;
          gets.push(performance.now() - g0);
          if (seen) {
            latencies.push(Date.now() - w.at);
            break;
          }
          await sleep(10);
        }
        await sleep(100);
      }
      await loader.exited;
      const endAt = Date.now();
      const streamVisibility = await visibility.stop();
      const cpu1 = cpuNow(undefined);
      const m1 = machineSeconds();
      const windowS = (endAt - t0) / 1000;
      const drainSeconds = await drained(() => loaded + (probeAppends - probeBase), base, 120_000);
      sampling = false;
      await sampler;
      const eventsInWindow = loaded + (probeAppends - probeBase);
      const cpuOf = (used: number): CpuResult => ({
        seconds: round(used, 2),
        percent: round((used / windowS) * 100),
        msPerEvent: eventsInWindow > 0 ? round((used * 1000) / eventsInWindow, 3) : null,
      });
      // CPU over the load window (the drain after it is not counted); the generator reports its own.
      const cpu: Record<string, CpuResult> = {};
      for (const [k, v0] of Object.entries(cpu0)) {
        const v1 = cpu1[k];
        if (v0 === undefined || v1 === undefined) continue;
        cpu[k] = cpuOf(v1 - v0);
      }
      if (summary.cpuSeconds !== undefined) cpu.loadGenerator = cpuOf(summary.cpuSeconds);
      const ours = Object.values(cpu).reduce((a, c) => a + c.seconds, 0);
      const ourMsPerEvent = eventsInWindow > 0 ? (ours * 1000) / eventsInWindow : null;
      // Everything else on the machine (other users' processes): the contention the figures were taken under.
      cpu.otherProcesses = cpuOf(Math.max(0, m1.busy - m0.busy - ours));
      const after = await counters();
      const histAfter = { projector: e2eHistogram(after.projectorText, 'inventories'), views: e2eHistogram(after.viewsText, 'stock_by_warehouse_zone') };
      const proj50 = histogramQuantile(histBefore.projector, histAfter.projector, 0.5);
      const proj99 = histogramQuantile(histBefore.projector, histAfter.projector, 0.99);
      const views50 = histogramQuantile(histBefore.views, histAfter.views, 0.5);
      const views99 = histogramQuantile(histBefore.views, histAfter.views, 0.99);
      const series = (k: 'relayLag' | 'projectorLag' | 'viewsLag') => timeline.map((s) => ({ t: s.t, lag: s[k] }));
      const accepted = summary.ratePerSecond ?? (loaded > 0 ? loaded / windowS : null);
      // Flat out, the offer is what the journal took: backlogs are judged against that.
      const offered = rate === 0 ? (accepted ?? 0) : rate;
      // Throughput through each stage over the load window: its count at the last sample inside the window.
      const lastIn = [...timeline].reverse().find((x) => x.t <= windowS);
      const rateOf = (k: 'relayed' | 'projected' | 'aggregated') => (lastIn && lastIn.t > 0 ? lastIn[k] / lastIn.t : 0);
      const stages = {
        relay: stageOf(series('relayLag'), rateOf('relayed'), windowS, offered),
        projector: stageOf(series('projectorLag'), rateOf('projected'), windowS, offered),
        views: stageOf(series('viewsLag'), rateOf('aggregated'), windowS, offered),
      };
      const ages = timeline.filter((s) => s.t <= windowS && s.bridgeWrittenAtAgeMs !== null).map((s) => s.bridgeWrittenAtAgeMs!);
      const growing = Object.values(stages).some((s) => s.growing);
      const acceptedShare = accepted === null ? 0 : accepted / offered;
      const machineBusyPercent = round(((m1.busy - m0.busy) / (m1.total - m0.total)) * 100);
      let limit: string | null = null;
      if (acceptedShare < 0.95) {
        const gen = cpu.loadGenerator?.percent ?? 0;
        const ddb = cpu.dynamodb?.percent;
        limit = gen >= 85
          ? `load generator (${gen} % of a core)`
          : `journal: DynamoDB Local accepted ${Math.round(accepted ?? 0)} of ${rate} ev/s (DynamoDB Local ${ddb ?? '?'} % CPU, generator ${gen} %, machine ${machineBusyPercent} % busy)`;
      } else if (growing) {
        const first = (['relay', 'projector', 'views'] as const).find((k) => stages[k].growing)!;
        const proc = first === 'relay' ? 'bridge' : first;
        limit = `${first === 'relay' ? 'bridge relay' : first === 'projector' ? 'projector apply' : 'views aggregation'}: backlog ${stages[first].lagStart} → ${stages[first].lagEnd} records (${proc} ${cpu[proc]?.percent ?? '?'} % CPU, machine ${machineBusyPercent} % busy)`;
      } else if (drainSeconds === null || drainSeconds > 5) {
        limit = `pipeline did not drain within 5 s of the load stopping (${drainSeconds ?? '> 120'} s)`;
      }
      if (rate === 0 && limit === null) {
        limit = `journal side: flat out the generator got ${Math.round(accepted ?? 0)} ev/s accepted (generator ${cpu.loadGenerator?.percent ?? '?'} %, DynamoDB Local ${cpu.dynamodb?.percent ?? '?'} % CPU, machine ${machineBusyPercent} % busy) and every stage kept up`;
      }
      const result: RateResult = {
        offeredRate: rate,
        acceptedRate: accepted === null ? null : round(accepted, 1),
        loadConcurrency: concurrency,
        probes: latencies.length,
        p50Ms: pct(latencies, 50),
        p99Ms: pct(latencies, 99),
        maxMs: latencies.length ? Math.max(...latencies) : null,
        apiGetP50Ms: gets.length ? round(pct(gets, 50)!, 1) : null,
        apiGetP99Ms: gets.length ? round(pct(gets, 99)!, 1) : null,
        committedEvents: proj50.count,
        commitP50Ms: proj50.ms,
        commitP99Ms: proj99.ms,
        viewsCommittedEvents: views50.count,
        viewsCommitP50Ms: views50.ms,
        viewsCommitP99Ms: views99.ms,
        bridgeAgeP50Ms: pct(ages, 50),
        bridgeAgeP99Ms: pct(ages, 99),
        stageLatency: stageLatencyOf(
          { bridge: base.bridgeText, projector: base.projectorText, views: base.viewsText },
          { bridge: after.bridgeText, projector: after.projectorText, views: after.viewsText },
        ),
        streamVisibility,
        bridgeClientRetries: retriesByCode(base.bridgeText, after.bridgeText),
        stages,
        lagGrowing: growing,
        lagEnd: round(stages.projector.lagEnd + stages.views.lagEnd),
        drainSeconds: drainSeconds === null ? null : round(drainSeconds, 1),
        windowSeconds: round(windowS, 1),
        cpu,
        machineBusyPercent,
        cpuMsPerEventTotal: ourMsPerEvent === null ? null : round(ourMsPerEvent, 2),
        machineCapacityEstimate: ourMsPerEvent ? Math.round((cpus().length * 1000) / ourMsPerEvent) : null,
        sustained: limit === null,
        limit,
        timeline,
      };
      const { timeline: _t, ...line } = result;
      console.log(JSON.stringify(line));
      return result;
    };
    for (const rate of rates) results.push(await measure(rate, seconds));
    if (ceilingSeconds > 0) ceiling = await measure(0, ceilingSeconds);
  } catch (err) {
    pipelineOk = false;
    for (const r of started()) console.error(`--- ${r}\n${roles[r]!.output().slice(-3000)}`);
    throw err;
  } finally {
    for (const r of started()) roles[r]!.child.kill('SIGTERM');
    await Promise.all(started().map((r) => roles[r]!.exited));
    await pool.end();
    await adminClient.query(`drop database if exists ${dbName} with (force)`);
    await adminClient.end();
    await privateDynamo?.stop();
    if (!pipelineOk) process.exitCode = 1;
  }
  const sustained = results.filter((r) => r.sustained);
  const firstLimited = results.find((r) => !r.sustained);
  const report = {
    generatedAt: new Date().toISOString(),
    dynamodb: privateDynamo ? 'private in-memory' : mode,
    batch: batchSettings(),
    rolesDir: values['roles-dir'] ?? null,
    machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    loadAverage: { before: loadBefore.map((v) => round(v, 2)), after: loadavg().map((v) => round(v, 2)) },
    processes: 'bridge | projector | views | api+monitor, one Node process each (cli run --roles); loadGenerator = bench/e2e-load.ts; bench = this process (probe, sampler)',
    seconds,
    results,
    highestSustainedRate: sustained.length ? Math.max(...sustained.map((r) => r.acceptedRate ?? 0)) : null,
    highestSustainedOfferedRate: sustained.length ? Math.max(...sustained.map((r) => r.offeredRate)) : null,
    limit: firstLimited ? { offeredRate: firstLimited.offeredRate, stage: firstLimited.limit } : null,
    /** The flat-out window (--ceiling): offeredRate 0, acceptedRate = the most the journal took; its stages' throughputs are their ceilings when backlogged. */
    ceiling: ceiling ?? null,
    /** --backlog: each stage alone on a backlog (journal flat out with nothing else running; bridge on the full stream; projector + views on the full topic). */
    stagesAlone: stagesAlone ?? null,
  };
  mkdirSync(path.dirname(values.out!), { recursive: true });
  writeFileSync(values.out!, `${JSON.stringify(report, null, 2)}\n`);
  const { results: _r, ...head } = report;
  console.log(JSON.stringify(head, null, 2));
}

await main();
