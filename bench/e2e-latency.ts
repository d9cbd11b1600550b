/**
 * End-to-end latency (issue 10): journal write → visible through the API, at
 * fixed offered rates, with the whole pipeline running as the CLI runs it.
 *
 * For each offered rate: the load generator writes at that rate for
 * `--seconds`; meanwhile a probe appends a receipt to its own inventory every
 * 250 ms and polls `GET /inventories/:id` until the new sequence number is
 * visible: latency = visible − appended. Reports p50/p99, the rate the
 * journal actually accepted, and whether the projector's lag kept growing
 * (the highest sustained rate is the highest offered rate whose lag did not).
 * The probe gives few samples (one per round trip); the pipeline's own
 * `pipeline_e2e_latency_seconds` histogram (journal written_at → committed in
 * PostgreSQL, every event of the load) is scraped before and after each rate
 * and its p50/p99 reported next to the probe's, interpolated within buckets
 * the way Prometheus' histogram_quantile does.
 *
 * DynamoDB Local is the journal here: it accepts far fewer writes per second
 * than a real table, so the accepted rate is reported next to the offered one.
 *
 *   node --import tsx bench/e2e-latency.ts [--rates 200,500,1000,5000] [--seconds 30]
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '200,500,1000,5000' },
    seconds: { type: 'string', default: '30' },
    out: { type: 'string', default: 'bench/results/e2e-latency.json' },
  },
});
const rates = values.rates!.split(',').map(Number);
const seconds = Number(values.seconds);
const config = loadConfig();
const pct = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]! : NaN);

type Buckets = Map<number, number>;

interface RateResult {
  offeredRate: number;
  acceptedRate: number | null;
  probes: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number | null;
  committedEvents: number;
  commitP50Ms: number | null;
  commitP99Ms: number | null;
  lagGrowing: boolean;
  lagEnd: number | null;
}

/** Cumulative bucket counts of the view-commit latency histogram of one view, summed over labels. */
async function scrapeHistogram(url: string, view: string): Promise<Buckets> {
  const text = await fetch(url).then((r) => r.text()).catch(() => '');
  const buckets: Buckets = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith('pipeline_e2e_latency_seconds_bucket{') || !line.includes(`view="${view}"`)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le === undefined || !Number.isFinite(value)) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + value);
  }
  return buckets;
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
  const seconds = lower + (upper - lower) * (inBucket > 0 ? (rank - below) / inBucket : 1);
  return { ms: Math.round(seconds * 1000), count };
}

/** The projector group's summed lag from the API's /lag (undefined while the monitor has not polled). */
async function projectorLag(api: string): Promise<number | undefined> {
  const lag = await fetch(`${api}/lag`).then((r) => r.json() as Promise<{ groups?: { group: string; sumLag: number }[] }>).catch(() => undefined);
  return lag?.groups?.filter((g) => g.group.includes('inventory-projector')).reduce((s, g) => s + g.sumLag, 0);
}

function cli(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/cli.ts', ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', METRICS_PORT: '0', PROMETHEUS_TARGETS_DIR: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  return { child, exited, output: () => out };
}

async function main() {
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
    checkpointTopic: `${topic}.checkpoints`, batch: { maxRecords: 1000, pollIntervalMs: 50, idlePollIntervalMs: 100 },
  }));
  const apiPort = 3900 + Math.floor(Math.random() * 90);
  const metricsPort = apiPort + 100;
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const env = {
    DATABASE_URL: dbUrl.toString(),
    API_DATABASE_URL: readerUrl.toString(),
    CONNECTOR_FILE: connectorFile,
    GROUP_PREFIX: `bench-${run}.`,
    API_PORT: String(apiPort),
    LAG_POLL_INTERVAL_MS: '1000',
  };
  const runEnv = { ...env, METRICS_PORT: String(metricsPort) };
  const setup = cli(['setup'], env);
  if ((await setup.exited) !== 0) throw new Error(setup.output());
  const pipeline = cli(['run'], runEnv);
  // Whatever happens below, the pipeline child must not outlive the bench (it would load the stack for the next one).
  const results: RateResult[] = [];
  try {
    const api = `http://127.0.0.1:${apiPort}`;
    for (let i = 0; i < 120; i++) {
      if ((await fetch(`${api}/healthz`).catch(() => undefined))?.ok) break;
      await new Promise((r) => setTimeout(r, 500));
    }

    const catalog = loadCatalog(defaultSchemasDir('inventory'));
    const journal = createJournal({ ddb: createDynamo({ endpoint: config.dynamodbEndpoint, region: config.awsRegion, accessKeyId: 'x', secretAccessKey: 'x' }), table, catalog });
    const probeId = `PROBE-${run}`;
    let probe: InventoryState = initialState(`inventory-${probeId}`);
    const append = async (cmd: Parameters<typeof decide>[1]) => {
      const events = decide(probe, cmd);
      await journal.append({ persistenceId: probe.persistenceId, expectedSequenceNr: probe.sequenceNr, events: events.map((e) => ({ type: e.type, data: e.data as unknown as Record<string, unknown> })) });
      probe = events.reduce((s, e) => evolve(s, e), probe);
      return { seq: probe.sequenceNr, at: Date.now() };
    };
    await append({ kind: 'create', inventoryId: probeId, productId: 'P-000001', warehouseId: 'WH-TYO', zoneId: 'WH-TYO-AMBIENT', productStorageCondition: 'AMBIENT', zoneType: 'AMBIENT' });

    for (const rate of rates) {
      const load = cli(['load', '--profile', 'flat', '--rate', String(rate), '--duration', String(seconds), '--inventories', '400', '--concurrency', '16', '--prefix', `L${rate}-${run}`], env);
      const histogramBefore = await scrapeHistogram(metricsUrl, 'inventories');
      const latencies: number[] = [];
      const lagSamples: number[] = [];
      const t0 = Date.now();
      while (Date.now() - t0 < seconds * 1000) {
        const w = await append({ kind: 'receive', quantity: 1, lotNumber: 'PROBE', supplierId: null, expiryDate: null });
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline) {
          const res = await fetch(`${api}/inventories/${probeId}`).catch(() => undefined);
          if (res?.ok && ((await res.json()) as { lastSequenceNr: number }).lastSequenceNr >= w.seq) {
            latencies.push(Date.now() - w.at);
            break;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
        lagSamples.push((await projectorLag(api)) ?? 0);
        await new Promise((r) => setTimeout(r, 250));
      }
      await load.exited;
      // Let the tail of the load drain before the second scrape, so its events count.
      for (let i = 0; i < 60; i++) {
        if ((await projectorLag(api)) === 0) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      const histogramAfter = await scrapeHistogram(metricsUrl, 'inventories');
      const p50All = histogramQuantile(histogramBefore, histogramAfter, 0.5);
      const p99All = histogramQuantile(histogramBefore, histogramAfter, 0.99);
      // The summary is the pretty-printed JSON the load command prints last (logs are single-line JSON).
      const out = load.output();
      // Its opening brace is the last one at the start of a line with nothing after it (nested objects are indented).
      const start = [...out.matchAll(/^\{$/gm)].at(-1)?.index ?? -1;
      const summary = (start >= 0 ? JSON.parse(out.slice(start)) : {}) as { events?: number; ratePerSecond?: number };
      const half = Math.floor(lagSamples.length / 2);
      // Lag that only ever rises across the window, or probe latency that doubles
      // from the first half to the second, is a backlog the pipeline is not absorbing.
      const lagRising = lagSamples.length > 4 && Math.min(...lagSamples.slice(half)) > Math.max(...lagSamples.slice(0, half));
      const probeHalf = Math.floor(latencies.length / 2);
      const firstHalfP50 = pct(latencies.slice(0, probeHalf), 50);
      const secondHalfP50 = pct(latencies.slice(probeHalf), 50);
      const latencyRising = latencies.length > 4 && secondHalfP50 > 1000 && secondHalfP50 > 2 * firstHalfP50;
      const growing = lagRising || latencyRising;
      results.push({
        offeredRate: rate,
        acceptedRate: summary.ratePerSecond ?? null,
        probes: latencies.length,
        p50Ms: pct(latencies, 50),
        p99Ms: pct(latencies, 99),
        maxMs: latencies.length ? Math.max(...latencies) : null,
        committedEvents: p50All.count,
        commitP50Ms: p50All.ms,
        commitP99Ms: p99All.ms,
        lagGrowing: growing,
        lagEnd: lagSamples.at(-1) ?? null,
      });
      console.log(JSON.stringify(results.at(-1)));
    }
  } finally {
    pipeline.child.kill('SIGTERM');
    await pipeline.exited;
    await pool.end();
    await adminClient.query(`drop database if exists ${dbName} with (force)`);
    await adminClient.end();
  }
  const sustained = results.filter((r) => !r.lagGrowing).map((r) => r.acceptedRate ?? 0);
  const report = { seconds, results, highestSustainedRate: sustained.length ? Math.max(...sustained) : null };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(values.out!, `${JSON.stringify(report, null, 2)}\n`);
  console.log(JSON.stringify(report, null, 2));
}

await main();
