/**
 * `npm run bench`: runs every benchmark one after the other (never in
 * parallel: they would measure each other), collects their JSON results and
 * writes bench/results/report.json, report.md and two SVG charts (bench/charts.ts,
 * Vega-Lite) — each measure against its target, and end-to-end latency
 * percentiles against offered rate. `node --import tsx bench/charts.ts` redraws
 * the charts from the last results alone.
 *
 * Brings the local stack up first (idempotent), like `npm test`.
 *
 *   npm run bench                # full sizes
 *   npm run bench -- --smoke     # small sizes, for a quick check that every bench still runs
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { latencyChart, ratioChart, type TargetRow } from './charts.js';

const smoke = process.argv.includes('--smoke');
// Smoke runs write their results elsewhere, so they never replace the real figures.
const resultsDir = smoke ? 'bench/results/smoke' : 'bench/results';
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');

interface Bench {
  name: string;
  file: string;
  args: string[];
  smokeArgs: string[];
  /** Some benches take their sizes from the environment. */
  smokeEnv?: Record<string, string>;
  result: string;
}

const benches: Bench[] = [
  { name: 'bridge', file: 'bench/bridge-throughput.ts', args: [], smokeArgs: [], smokeEnv: { EVENTS: '300', RUNS: '1' }, result: 'bench/results/bridge.json' },
  { name: 'bridge-shards', file: 'bench/bridge-shards.ts', args: [], smokeArgs: [], smokeEnv: { EVENTS: '300', RUNS: '1' }, result: 'bench/results/bridge-shards.json' },
  { name: 'projector', file: 'bench/projector.ts', args: [], smokeArgs: ['--inventories', '200', '--operations', '1000', '--rounds', '1'], result: 'bench/results/projector.json' },
  { name: 'aggregator', file: 'bench/aggregator.ts', args: [], smokeArgs: ['--n', '100', '--batches', '2'], result: 'bench/results/aggregator.json' },
  { name: 'lag-monitor', file: 'bench/lag-monitor-poll.ts', args: [], smokeArgs: [], result: 'bench/results/lag-monitor.json' },
  { name: 'api', file: 'bench/api-latency.ts', args: [], smokeArgs: [], smokeEnv: { RUNS: '1', DURATION: '2', INVENTORIES: '500' }, result: 'bench/results/api.json' },
  { name: 'e2e-latency', file: 'bench/e2e-latency.ts', args: [], smokeArgs: ['--rates', '200', '--seconds', '10'], result: 'bench/results/e2e-latency.json' },
];

type Json = Record<string, unknown>;
const read = (f: string): Json | undefined => (existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Json) : undefined);
const round = (v: number | undefined) => (v === undefined ? undefined : Math.round(v * 1000) / 1000);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

type Row = TargetRow;

function rows(results: Record<string, Json | undefined>): Row[] {
  const r: Row[] = [];
  const b = results.bridge;
  if (b) r.push({ what: 'bridge relay / lower ceiling (steady state)', measured: round(num((b.ratios as Json | undefined)?.bridgeSteadyVsLowerCeiling)), target: 0.8, unit: '×', higherIsBetter: true });
  const p = results.projector;
  if (p) {
    r.push({ what: 'projector / naive seed-style apply', measured: num(p.ratioVsNaive), target: 20, unit: '×', higherIsBetter: true });
    r.push({ what: 'projector / raw COPY of its rows', measured: num(p.ratioVsRawCopy), target: 0.3, unit: '×', higherIsBetter: true });
  }
  const a = results.aggregator;
  if (a) {
    r.push({ what: 'aggregator / GROUP BY recompute per batch (N)', measured: num(a.ratioVsRecompute), target: 1, unit: '×', higherIsBetter: true });
    r.push({ what: 'aggregator cost per event at 10N / at N (flat)', measured: num(a.costPerEvent10xOverN), target: 1.5, unit: '×', higherIsBetter: false });
  }
  const l = results['lag-monitor'];
  if (l) r.push({ what: 'lag monitor poll, 3 groups × 64 partitions (median)', measured: num((l.steady as Json | undefined)?.medianMs ?? l.medianMs), target: 50, unit: 'ms', higherIsBetter: false });
  const api = results.api;
  if (api) {
    const m = api.median as Json | undefined;
    r.push({ what: 'API GET /inventories/:id / raw pg rate', measured: round(num(m?.ratio)), target: 0.5, unit: '×', higherIsBetter: true });
    r.push({ what: 'API p99 at 50 connections', measured: round(num((m?.api as Json | undefined)?.p99Ms)), target: 20, unit: 'ms', higherIsBetter: false });
  }
  return r;
}

/** One row per offered rate: what the journal accepted, and both latency measures. */
function e2eTable(e2e: Json | undefined): string[] {
  const results = (e2e?.results as Json[] | undefined) ?? [];
  if (results.length === 0) return ['no end-to-end results'];
  const f = (v: unknown) => (num(v) === undefined ? 'n/a' : String(Math.round(num(v)!)));
  return [
    `Probe: journal append → new sequence number visible through \`GET /inventories/:id\` (one sample per round trip). ` +
      `Commit: \`pipeline_e2e_latency_seconds\` histogram, journal written_at → committed in PostgreSQL, every event of the load, interpolated within buckets.`,
    '',
    '| offered ev/s | accepted ev/s | probe p50 ms | probe p99 ms | probes | commit p50 ms | commit p99 ms | events | backlog growing |',
    '|---|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${f(r.offeredRate)} | ${f(r.acceptedRate)} | ${f(r.p50Ms)} | ${f(r.p99Ms)} | ${f(r.probes)} | ${f(r.commitP50Ms)} | ${f(r.commitP99Ms)} | ${f(r.committedEvents)} | ${r.lagGrowing === true ? 'yes' : 'no'} |`,
    ),
    '',
    `Highest sustained accepted rate: ${f(e2e?.highestSustainedRate)} ev/s over ${f(e2e?.seconds)} s per rate.`,
  ];
}

async function main() {
  mkdirSync(resultsDir, { recursive: true });
  // Benches write fixed paths; a smoke run puts the real figures back afterwards.
  const saved = smoke ? new Map(benches.filter((b) => existsSync(b.result)).map((b) => [b.result, readFileSync(b.result, 'utf8')])) : new Map<string, string>();
  const failures: string[] = [];
  // Like `npm test` and `npm start`, the bench brings up the local stack itself (seconds when it already runs).
  const stack = spawnSync('bash', ['scripts/stack.sh', 'up'], { stdio: 'inherit' });
  if (stack.status !== 0) {
    console.error('the local stack did not come up; see the lines above');
    process.exit(1);
  }
  for (const b of benches) {
    if (only && !only.includes(b.name)) continue;
    console.log(`\n=== ${b.name}`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', b.file, ...(smoke ? b.smokeArgs : b.args)], {
      stdio: 'inherit',
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...(smoke ? b.smokeEnv : {}) },
      timeout: 30 * 60_000,
    });
    if (r.status !== 0) failures.push(`${b.name} exited ${r.status ?? r.signal}`);
  }
  const results = Object.fromEntries(benches.map((b) => [b.name, read(b.result)]));
  for (const [file, content] of saved) writeFileSync(file, content);
  const table = rows(results);
  const machine = { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
  const report = { generatedAt: new Date().toISOString(), smoke, machine, targets: table, e2e: results['e2e-latency'] ?? null, raw: results, failures };
  writeFileSync(`${resultsDir}/report.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${resultsDir}/ratios.svg`, await ratioChart(table));
  writeFileSync(`${resultsDir}/e2e-latency.svg`, await latencyChart(results['e2e-latency']));
  const md = [
    `# Benchmark report`,
    ``,
    `${report.generatedAt} · ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, Node ${machine.node}${smoke ? ' · SMOKE SIZES' : ''}`,
    ``,
    `| measure | value | target | met |`,
    `|---|---|---|---|`,
    ...table.map((r) => {
      const met = r.measured === undefined ? 'n/a' : (r.higherIsBetter ? r.measured >= r.target : r.measured <= r.target) ? 'yes' : 'no';
      return `| ${r.what} | ${r.measured ?? 'n/a'}${r.measured === undefined ? '' : r.unit} | ${r.higherIsBetter ? '≥' : '≤'} ${r.target}${r.unit} | ${met} |`;
    }),
    ``,
    `![ratios](ratios.svg)`,
    ``,
    `## End-to-end latency`,
    ``,
    ...e2eTable(results['e2e-latency']),
    ``,
    `![latency](e2e-latency.svg)`,
    ...(failures.length ? ['', `Failures: ${failures.join('; ')}`] : []),
    ``,
  ].join('\n');
  writeFileSync(`${resultsDir}/report.md`, md);
  for (const r of table) {
    console.log(`${r.what.padEnd(52)} ${String(r.measured ?? 'n/a').padStart(8)}${r.unit}  target ${r.higherIsBetter ? '≥' : '≤'} ${r.target}${r.unit}`);
  }
  if (failures.length) {
    console.error(`failed: ${failures.join('; ')}`);
    process.exitCode = 1;
  }
}

await main();
