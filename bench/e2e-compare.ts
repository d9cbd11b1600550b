/**
 * Latency per stage, before and after a change, side by side (issue 33): runs
 * bench/e2e-latency.ts in turns — the roles of an earlier checkout ("before")
 * and of this one ("after"), each with its own shipped connector settings, on
 * a private in-memory DynamoDB Local each run, the order swapped every round so
 * that drift in the machine's load falls on both — and keeps the median of the
 * rounds per variant and offered rate: accepted rate, journal → committed p50
 * and p99 (the projector's `inventories` view and the views group), each
 * stage's p50 and p99, DynamoDB Local's stream visibility, CPU per process, and
 * the load average around each run. Results: bench/results/e2e-stages.json,
 * tabulated by bench/run-all.ts.
 *
 * The "before" checkout is a snapshot of an earlier commit with node_modules
 * beside it, e.g.
 *   mkdir -p scratch/before && git archive <commit> | tar -x -C scratch/before && ln -s "$PWD/node_modules" scratch/before/node_modules
 *   node --import tsx bench/e2e-compare.ts --before scratch/before --before-commit <commit> [--rounds 3] [--rates 400,900] [--seconds 30] [--warmup 10]
 *   node --import tsx bench/e2e-compare.ts --before scratch/before --from /tmp/e2e-compare-XXXX   # summarise runs on file
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    before: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    rates: { type: 'string', default: '400,900' },
    seconds: { type: 'string', default: '30' },
    /** Unreported seconds at the first rate before each run's windows (bench/e2e-latency.ts --warmup). */
    warmup: { type: 'string', default: '10' },
    out: { type: 'string', default: 'bench/results/e2e-stages.json' },
    /** Summarise the run reports already in this folder (<variant>-<round>.json), running nothing. */
    from: { type: 'string' },
    /** More variants of this checkout, each `name:ENV=value,...` (e.g. `c2:CONSUMER_CONCURRENCY=2`), taking their turn after before and after. */
    extra: { type: 'string', multiple: true, default: [] },
    /** The commit the --before folder holds, when it is not a git checkout (a `git archive` snapshot): named in the report. */
    'before-commit': { type: 'string' },
  },
});
if (!values.before) {
  console.error('usage: e2e-compare.ts --before <checkout of the earlier commit> [--rounds 3] [--rates 400,900] [--seconds 30]');
  process.exit(2);
}
const before = path.resolve(values.before);
const rounds = Number(values.rounds);
// Each run's own report (with its timeline) stays out of the repository.
const work = values.from ?? mkdtempSync(path.join(tmpdir(), 'e2e-compare-'));
console.log(`runs' reports in ${work}`);
/** `<short hash> <subject>` of a commit (HEAD of `dir`, or `rev` of this repository), the subject cut at 80 characters. */
const git = (dir: string, rev = 'HEAD') => {
  const line = spawnSync('git', ['log', '-1', '--format=%h %s', rev], { cwd: dir, encoding: 'utf8' }).stdout.trim();
  return line.length > 90 ? `${line.slice(0, 89)}…` : line;
};
const beforeCommit = values['before-commit'] ? git('.', values['before-commit']) : git(before);
if (!beforeCommit) {
  console.error(`e2e-compare: ${before} is not a git checkout; name the commit it holds with --before-commit <rev>`);
  process.exit(2);
}

type Json = Record<string, unknown>;
interface Run {
  variant: string;
  round: number;
  loadAverage: { before: number[]; after: number[] };
  results: Json[];
}
const extras = new Map(
  values.extra!.map((spec) => {
    const [name, env = ''] = spec.split(':');
    return [name!, Object.fromEntries(env.split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]))];
  }),
);
const runs: Run[] = [];
for (let round = 1; round <= rounds; round++) {
  const turn = ['before', 'after', ...extras.keys()];
  // Every variant first once, last once: a drift in the machine's load falls on all of them.
  const order = round % 2 === 1 ? turn : [...turn].reverse();
  for (const variant of order) {
    const out = path.join(work, `${variant}-${round}.json`);
    if (values.from) {
      if (!existsSync(out)) continue;
      const report = JSON.parse(readFileSync(out, 'utf8')) as { loadAverage: Run['loadAverage']; results: Json[] };
      runs.push({ variant, round, loadAverage: report.loadAverage, results: report.results });
      continue;
    }
    const args = ['--import', 'tsx', 'bench/e2e-latency.ts', '--private-dynamodb', '--batch', 'shipped', '--rates', values.rates!, '--seconds', values.seconds!, '--warmup', values.warmup!, '--backlog', '0', '--ceiling', '0', '--out', out];
    if (variant === 'before') args.push('--roles-dir', before);
    console.log(`=== round ${round}: ${variant}`);
    const r = spawnSync(process.execPath, args, { stdio: 'inherit', timeout: 20 * 60_000, env: { ...process.env, ...extras.get(variant) } });
    if (r.status !== 0) {
      console.error(`${variant} round ${round} exited ${r.status ?? r.signal}; not counted`);
      continue;
    }
    const report = JSON.parse(readFileSync(out, 'utf8')) as { loadAverage: Run['loadAverage']; results: Json[] };
    runs.push({ variant, round, loadAverage: report.loadAverage, results: report.results });
  }
}

const median = (xs: (number | null | undefined)[]) => {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m]! : Math.round(((v[m - 1]! + v[m]!) / 2) * 10) / 10;
};
const at = (o: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((x, k) => (x as Json | undefined)?.[k], o);
/** The figures kept per run and rate, as [name, value]. */
function figures(r: Json): [string, number | null][] {
  const stage = (name: string, ...keys: string[]): [string, number | null][] => [
    [`${name}.p50`, at(r, 'stageLatency', ...keys, 'p50Ms') as number | null],
    [`${name}.p99`, at(r, 'stageLatency', ...keys, 'p99Ms') as number | null],
  ];
  const cpu = Object.entries((r.cpu as Record<string, { percent: number }> | undefined) ?? {}).map(([k, v]): [string, number] => [`cpu.${k}`, v.percent]);
  return [
    ['acceptedRate', r.acceptedRate as number | null],
    ...stage('journalToCommitted', 'projector', 'journalToCommitted'),
    ...stage('viewsJournalToCommitted', 'views', 'journalToCommitted'),
    ...stage('journalToRead', 'journalToRead'),
    ...stage('readToProduced', 'readToProduced'),
    ...stage('producedToCommitted', 'producedToCommitted'),
    ...stage('projectorProducedToConsumed', 'projector', 'producedToConsumed'),
    ...stage('projectorConsumedToCommitted', 'projector', 'consumedToCommitted'),
    ...stage('viewsProducedToConsumed', 'views', 'producedToConsumed'),
    ...stage('viewsConsumedToCommitted', 'views', 'consumedToCommitted'),
    ['streamVisibility.p50', at(r, 'streamVisibility', 'p50Ms') as number | null],
    ['streamVisibility.p99', at(r, 'streamVisibility', 'p99Ms') as number | null],
    ['probe.p50', r.p50Ms as number | null],
    ['probe.p99', r.p99Ms as number | null],
    ['drainSeconds', r.drainSeconds as number | null],
    ['machineBusyPercent', r.machineBusyPercent as number | null],
    ...cpu,
  ];
}
const rates = values.rates!.split(',').map(Number);
const medians: Record<string, Record<string, Record<string, number | null>>> = {};
/** Each run's verdict (e2e-latency.ts: sustained, or the limit it names). */
const verdicts: Record<string, Record<string, string[]>> = {};
for (const variant of ['before', 'after', ...extras.keys()]) {
  medians[variant] = {};
  for (const rate of rates) {
    const rows = runs.filter((x) => x.variant === variant).flatMap((x) => x.results.filter((r) => r.offeredRate === rate));
    const names = [...new Set(rows.flatMap((r) => figures(r).map(([n]) => n)))];
    medians[variant][rate] = Object.fromEntries(names.map((n) => [n, median(rows.map((r) => figures(r).find(([k]) => k === n)?.[1]))]));
    medians[variant][rate].runs = rows.length;
    (verdicts[variant] ??= {})[rate] = rows.map((r) => (r.sustained === true ? 'sustained' : String(r.limit)));
  }
}
// A variant with no counted run has no figures: stop before its empty medians replace the results on file.
const missing = ['before', 'after', ...extras.keys()].filter((v) => !runs.some((x) => x.variant === v));
if (missing.length > 0) {
  console.error(`e2e-compare: no run of ${missing.join(', ')} was counted (see the errors above); ${values.out} left as it was`);
  process.exit(1);
}
const loads = runs.map((x) => ({ variant: x.variant, round: x.round, before: x.loadAverage.before[0], after: x.loadAverage.after[0] }));
const report = {
  generatedAt: new Date().toISOString(),
  machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown' },
  seconds: Number(values.seconds),
  warmupSeconds: Number(values.warmup),
  rounds,
  rates,
  variants: {
    before: { commit: beforeCommit, connector: 'its connectors/journal.json' },
    after: { commit: git('.'), connector: 'connectors/journal.json' },
    ...Object.fromEntries([...extras].map(([name, env]) => [name, { commit: git('.'), connector: 'connectors/journal.json', env }])),
  },
  loadAverage: { runs: loads, atEnd: loadavg().map((v) => Math.round(v * 100) / 100) },
  median: medians,
  verdicts,
};
mkdirSync(path.dirname(values.out!), { recursive: true });
writeFileSync(values.out!, `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report.median, null, 1));
