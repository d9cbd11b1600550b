/**
 * The bridge side by side with the relay users would pick instead (Redpanda
 * Connect's `aws_dynamodb_cdc` → `kafka_franz`), in one run, on one stream:
 * runs ../shared/peers/cdc/bench.sh (its README says how to build the peers
 * and load the table) and, next to it, samples the relay process while it
 * relays: the topic's end offsets and the process's CPU time
 * (/proc/<pid>/stat utime + stime) every 100 ms. CPU seconds per million
 * records are taken between the first sample that sees records in the topic
 * and the first that sees all of them, so start-up (tsx, connecting, fencing)
 * is not counted; the whole-life CPU is reported too.
 *
 * When what the selected cases need is not built (the rpc binaries for rpc-*
 * cases; bench.sh's Node helpers for every case) it prints "skipped: …" and
 * writes bench/results/bridge-peers.json with `skipped` set. Before the cases
 * run, the project cases' topic `proj-<table>` gets its schema subjects
 * (registerProjectSubjects): on a fresh machine nothing else registers them. Without DDB_ENDPOINT it
 * starts a private in-memory DynamoDB Local on :18001 and writes the N events
 * itself (see prepareStream); with it, the table must already hold them.
 *
 *   [DDB_ENDPOINT=http://127.0.0.1:18001] KAFKA_BROKER=127.0.0.1:9092 \
 *   node --import tsx bench/bridge-peers.ts [--rounds 3] [--n 20000] [--cases "rpc-noreplay rpc-patched project-eos project-alo"] [--sinks "kafkajs confluent"] [--baseline DIR] [--out FILE]
 *
 * --sinks "kafkajs confluent": the project cases run once per client of the
 * bridge's producer (BRIDGE_KAFKA_CLIENT) in every round; those on a client
 * other than kafkajs are labelled <case>@<client> (e.g. project-eos@confluent;
 * the confluent client must be built: scripts/stack.sh install --kafka-client
 * confluent). Default: kafkajs only.
 *
 * --baseline DIR: a second checkout (e.g. `git worktree add --detach DIR <commit>`) whose
 * bridge runs project-eos in every round too, labelled project-eos@baseline.
 *
 * With DDB_ENDPOINT, the table (BENCH_TABLE, default cdcpeer_bench) must
 * already hold N journal events written by this project's `cli load` (see
 * the peers README).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { sleep } from '../src/shared/retry.js';
import { processCpuSeconds } from './lib/proc-cpu.js';

const HERE = import.meta.dirname;
const PEERS_SRC = path.resolve(process.env.PEERS_SRC ?? path.join(HERE, '../../shared/peers/cdc'));
const PEERS_DIR = process.env.CDC_PEERS_DIR ?? '/tmp/cdc-peers';
const TABLE = process.env.BENCH_TABLE ?? 'cdcpeer_bench';
const KAFKA_BROKER = process.env.KAFKA_BROKER ?? '127.0.0.1:9092';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
/** Where the results go (default bench/results/bridge-peers.json, the file the report reads). */
const OUT = path.resolve(arg('out', path.join(HERE, 'results', 'bridge-peers.json')));
const ROUNDS = Number(arg('rounds', '3'));
const N = Number(arg('n', '20000'));
const CASES = arg('cases', 'rpc-noreplay rpc-patched project-eos project-alo').split(/\s+/).filter(Boolean);
/** A second checkout of this project whose bridge runs project-eos in each round too (before/after a change). */
const BASELINE = arg('baseline', '') || undefined;
const BASELINE_CASE = 'project-eos@baseline';
/** Clients of the project bridge's producer (BRIDGE_KAFKA_CLIENT) the project cases run on; kafkajs keeps the plain labels. */
const SINKS = arg('sinks', 'kafkajs').split(/\s+/).filter(Boolean);
const PROJECT_CASES = CASES.filter((c) => c.startsWith('project-'));
const sinkLabel = (c: string, sink: string) => (sink === 'kafkajs' ? c : `${c}@${sink}`);

interface CaseRun {
  case: string;
  round: number;
  /** records/s from the first to the last record seen in the topic (our own 100 ms samples). */
  recordsPerS: number | null;
  /** bench.sh's own figure (kcount.mjs, same definition). */
  benchShRecordsPerS: number | null;
  /** CPU seconds of the relay process per million records, between first and last record. */
  cpuSecondsPerMillion: number | null;
  /** CPU seconds of the relay process over its whole life (start-up and shutdown included). */
  cpuSecondsTotal: number | null;
  complete: boolean;
}

const median = (xs: number[]) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** What the selected cases need and this machine lacks (the project cases need no peer build). */
function missing(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux (CPU is read from /proc)';
  if (!existsSync(path.join(PEERS_SRC, 'bench.sh'))) return `no ${PEERS_SRC}/bench.sh`;
  const bins = [
    ...(CASES.some((c) => c.startsWith('rpc-') && !c.startsWith('rpc-patched')) || CASES.includes('rpc') ? ['rpc-cdcpeer'] : []),
    ...(CASES.some((c) => c.startsWith('rpc-patched')) ? ['rpc-cdcpeer-patched'] : []),
  ];
  for (const bin of bins) {
    if (!existsSync(path.join(PEERS_DIR, 'bin', bin))) return `no ${PEERS_DIR}/bin/${bin}`;
  }
  if (!existsSync(path.join(PEERS_DIR, 'node', 'node_modules', 'kafkajs'))) return `no Node helpers in ${PEERS_DIR}/node`;
  return undefined;
}

const PRIVATE_DDB_PORT = 18001;

/** Runs this project's CLI in `project` (a checkout), failing the bench if it fails. */
function cli(project: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main/cli.ts', ...args], {
    cwd: project,
    stdio: 'inherit',
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', LOG_LEVEL: 'warn', ...env },
  });
  if (r.status !== 0) throw new Error(`cli ${args.join(' ')} exited ${r.status ?? r.signal}`);
}

/**
 * The project cases relay into `proj-<table>` (project-start.sh), a topic no
 * `setup` ran for: its schema subjects are registered here, before any case
 * runs. A bridge registers missing subjects itself on start, but a
 * `--baseline` checkout from before that change does not (it logged "No
 * version '1' found" and relayed nothing), and registering outside the
 * measured relay keeps registry round trips out of the start-up of every case.
 */
function registerProjectSubjects(project: string, table = TABLE) {
  cli(project, ['schemas', 'register', '--topic', `proj-${table}`]);
}

/**
 * Without DDB_ENDPOINT the bench prepares its own stream, as the peers'
 * README does by hand: a private in-memory DynamoDB Local (ddb-local-start.sh,
 * the jars of this repo's stack), table TABLE in the journal layout (`cli
 * setup` with a connector naming it), N events written by `cli load`. Returns
 * how to stop that DynamoDB Local.
 */
function prepareStream(project: string): () => void {
  const run = (cmd: string, args: string[], env: Record<string, string> = {}) => {
    const r = spawnSync(cmd, args, { cwd: project, stdio: 'inherit', env: { ...process.env, ...env } });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}`);
  };
  const endpoint = `http://127.0.0.1:${PRIVATE_DDB_PORT}`;
  run('bash', [path.join(PEERS_SRC, 'ddb-local-start.sh'), String(PRIVATE_DDB_PORT)], { PROJECT_DIR: project });
  const stop = () => void spawnSync('bash', [path.join(PEERS_SRC, 'ddb-local-stop.sh'), String(PRIVATE_DDB_PORT)], { stdio: 'inherit' });
  try {
    const connector = { ...(JSON.parse(readFileSync(path.join(project, 'connectors/journal.json'), 'utf8')) as object), name: 'cdcpeer', table: TABLE, topic: `cdcpeer.load.${Date.now()}` };
    const file = path.join(PEERS_DIR, 'run', 'cdcpeer-load-connector.json');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(connector));
    const env = { DYNAMODB_ENDPOINT: endpoint, CONNECTOR_FILE: file };
    cli(project, ['setup'], env);
    cli(project, ['load', '--profile', 'flat', '--count', String(N), '--concurrency', '16'], env);
  } catch (err) {
    stop();
    throw err;
  }
  process.env.DDB_ENDPOINT = endpoint;
  return stop;
}


function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

const topicOf = (c: string) => (c.startsWith('project-') ? `proj-${TABLE}` : `rpc-${TABLE}`);
const pidFileOf = (c: string) => path.join(PEERS_DIR, 'run', c.startsWith('project-') ? 'project-bridge.pid' : 'rpc.pid');

/**
 * Follows bench.sh through its cases in order: each case's relay process is
 * the next new pid in that case's pid file; while it lives, samples the
 * topic's record count and the process's CPU time together.
 */
async function sample(order: string[], done: () => boolean): Promise<Omit<CaseRun, 'benchShRecordsPerS'>[]> {
  const kafka = new Kafka({ clientId: 'bridge-peers-bench', brokers: [KAFKA_BROKER], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const count = async (topic: string) => {
    try {
      return (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
    } catch {
      return 0;
    }
  };
  const out: Omit<CaseRun, 'benchShRecordsPerS'>[] = [];
  const seen = new Set<number>();
  try {
    for (let i = 0; i < order.length && !done(); ) {
      const c = order[i]!;
      const pid = readPid(pidFileOf(c));
      if (pid === undefined || seen.has(pid)) {
        await sleep(50);
        continue;
      }
      seen.add(pid);
      const topic = topicOf(c);
      let first: { t: number; n: number; cpu: number } | undefined;
      let last: { t: number; n: number; cpu: number } | undefined;
      let lastCpu: number | undefined;
      for (;;) {
        const cpu = processCpuSeconds(pid);
        if (cpu === undefined) break; // process gone
        lastCpu = cpu;
        const n = await count(topic);
        const t = Date.now();
        const cpuAfter = processCpuSeconds(pid) ?? cpu;
        const at = { t, n, cpu: (cpu + cpuAfter) / 2 };
        if (n > 0 && !first) first = at;
        if (n >= N && !last) last = at;
        await sleep(100);
      }
      const complete = first !== undefined && last !== undefined && last.n > first.n;
      out.push({
        case: c,
        round: 0,
        recordsPerS: complete ? Math.round(N / ((last!.t - first!.t) / 1000 || 0.001)) : null,
        cpuSecondsPerMillion: complete ? +(((last!.cpu - first!.cpu) / (last!.n - first!.n)) * 1e6).toFixed(2) : null,
        cpuSecondsTotal: lastCpu ?? null,
        complete,
      });
      i++;
    }
  } finally {
    await admin.disconnect();
  }
  return out;
}

/** One bench.sh invocation over `cases` (the bridge from `projectDir`), with the relay process sampled alongside. */
async function runBench(cases: string[], projectDir: string, env: Record<string, string> = {}): Promise<{ code: number; ceiling: number[]; runs: CaseRun[] }> {
  const lines: string[] = [];
  let finished = false;
  const bench = new Promise<number>((resolve, reject) => {
    const p = spawn('bash', [path.join(PEERS_SRC, 'bench.sh'), String(N), cases.join(' '), '--no-load'], {
      env: { ...process.env, BENCH_TABLE: TABLE, PROJECT_DIR: projectDir, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buf = '';
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        console.log(line);
      }
    });
    p.on('error', reject);
    p.on('exit', (code) => {
      finished = true;
      resolve(code ?? 1);
    });
  });
  const sampled = sample(cases, () => finished);
  const code = await bench;
  const runs = await sampled;
  const steps = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { step: string; result: Record<string, unknown> });
  const ceiling = steps.filter((st) => st.step.startsWith('ceiling')).map((st) => Number(st.result.records_per_s ?? NaN));
  const benchRates = steps.filter((st) => !st.step.startsWith('ceiling') && st.step !== 'load');
  return {
    code,
    ceiling: ceiling.filter(Number.isFinite),
    runs: runs.map((r, i) => ({ ...r, benchShRecordsPerS: (benchRates[i]?.result.overall_records_per_s_first_to_last as number | undefined) ?? null })),
  };
}

async function main() {
  mkdirSync(path.dirname(OUT), { recursive: true });
  const why = missing();
  if (why) {
    console.log(`skipped: peers not built (see ../shared/peers/README.md): ${why}`);
    writeFileSync(OUT, JSON.stringify({ skipped: true, reason: why, at: new Date().toISOString() }, null, 2));
    return;
  }
  const project = process.env.PROJECT_DIR ?? path.resolve(HERE, '..');
  const stopDynamo = process.env.DDB_ENDPOINT ? undefined : prepareStream(project);
  try {
    await measure(project);
  } finally {
    stopDynamo?.();
  }
}

async function measure(project: string) {
  if (CASES.some((c) => c.startsWith('project-')) || BASELINE) registerProjectSubjects(project);
  const load1 = readFileSync('/proc/loadavg', 'utf8').trim();
  // Each round runs every case once (bench.sh: ceiling ×3, the cases, ceiling ×3);
  // with --baseline DIR, a checkout's bridge (e.g. the commit before a change)
  // runs project-eos right after, in the same round.
  const otherSinks = SINKS.filter((s) => s !== 'kafkajs');
  const labelled = [...CASES, ...otherSinks.flatMap((sink) => PROJECT_CASES.map((c) => sinkLabel(c, sink)))];
  const withBaseline = BASELINE ? [...labelled, BASELINE_CASE] : labelled;
  const all: CaseRun[] = [];
  const ceiling: number[] = [];
  const codes: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const invocations: { cases: string[]; labels: string[]; dir: string; env: Record<string, string> }[] = [
      { cases: CASES, labels: CASES, dir: project, env: { BRIDGE_KAFKA_CLIENT: 'kafkajs' } },
    ];
    for (const sink of otherSinks) {
      if (PROJECT_CASES.length > 0) invocations.push({ cases: PROJECT_CASES, labels: PROJECT_CASES.map((c) => sinkLabel(c, sink)), dir: project, env: { BRIDGE_KAFKA_CLIENT: sink } });
    }
    if (BASELINE) invocations.push({ cases: ['project-eos'], labels: [BASELINE_CASE], dir: BASELINE, env: { BRIDGE_KAFKA_CLIENT: 'kafkajs' } });
    for (const inv of invocations) {
      const r = await runBench(inv.cases, inv.dir, inv.env);
      codes.push(r.code);
      ceiling.push(...r.ceiling);
      all.push(...r.runs.map((x, i) => ({ ...x, case: inv.labels[i] ?? x.case, round })));
    }
  }
  const withBench = all;
  const code = Math.max(0, ...codes);
  const summary = Object.fromEntries(
    withBaseline.map((c) => {
      const mine = withBench.filter((r) => r.case === c && r.complete);
      return [
        c,
        {
          runs: mine.length,
          medianRecordsPerS: median(mine.map((r) => r.recordsPerS!)),
          medianBenchShRecordsPerS: median(mine.flatMap((r) => (r.benchShRecordsPerS === null ? [] : [r.benchShRecordsPerS]))),
          medianCpuSecondsPerMillion: median(mine.map((r) => r.cpuSecondsPerMillion!)),
          medianCpuSecondsTotal: median(mine.flatMap((r) => (r.cpuSecondsTotal === null ? [] : [r.cpuSecondsTotal]))),
        },
      ];
    }),
  );
  const eos = summary['project-eos']?.medianRecordsPerS;
  const stock = summary['rpc-noreplay']?.medianRecordsPerS;
  const result = {
    skipped: false,
    at: new Date().toISOString(),
    events: N,
    rounds: ROUNDS,
    table: TABLE,
    loadAverageBefore: load1,
    loadAverageAfter: readFileSync('/proc/loadavg', 'utf8').trim(),
    benchShExitCode: code,
    ceilingRecordsPerS: { median: median(ceiling), all: ceiling },
    baseline: BASELINE ?? null,
    sinks: SINKS,
    summary,
    target: {
      what: 'project-eos records/s >= rpc-noreplay records/s (medians, same run)',
      ratio: eos && stock ? +(eos / stock).toFixed(3) : null,
      met: eos != null && stock != null ? eos >= stock : null,
    },
    runs: withBench,
  };
  writeFileSync(OUT, JSON.stringify(result, null, 2));
  console.log(JSON.stringify({ summary, target: result.target, ceiling: result.ceilingRecordsPerS }, null, 2));
  console.log(`written ${path.relative(process.cwd(), OUT)}`);
}

await main();
