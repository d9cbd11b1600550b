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
 * The parts: e2e/roles.ts (a process per role), e2e/counters.ts (what is
 * read each second), e2e/backlog-phase.ts (--backlog), e2e/measure.ts (one
 * rate window: e2e/probe.ts, e2e/sampler.ts, e2e/verdict.ts), e2e/results.ts
 * (the figures), e2e/stack.ts (the local stack).
 *
 * Results: bench/results/e2e-latency.json — `results` (one row per offered
 * rate: the fields bench/run-all.ts tabulates, plus `stages`, `cpu`,
 * `timeline`), `ceiling`, `stagesAlone`, `highestSustainedRate`, `limit`.
 *
 *   STACK_DYNAMODB_IN_MEMORY=1 npm run bench -- --only=e2e-latency
 *   node --import tsx bench/e2e-latency.ts [--rates 500,1000,2000] [--seconds 30] [--warmup 10] [--backlog 10000] [--ceiling 30] [--cpu-prof dir] [--allow-on-disk]
 *   node --import tsx bench/e2e-latency.ts --rates 200 --seconds 10      # smoke
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateMasterData, loadMasterData } from '../src/command/master-data.js';
import { loadConfig } from '../src/config/config.js';
import { ensureReaderRole, migrate } from '../src/db/migrate.js';
import { freePort } from '../test/helpers/ports.js';
import { createTestDatabase } from '../test/helpers/stack.js';
import { backlogPhase } from './e2e/backlog-phase.js';
import { createCounters } from './e2e/counters.js';
import { createRateWindow } from './e2e/measure.js';
import { startProbe } from './e2e/probe.js';
import { round, type RateResult, type StagesAlone } from './e2e/results.js';
import { createRoleProcesses, node, roleNames } from './e2e/roles.js';
import { dynamoMode, restartDynamo, stackPids } from './e2e/stack.js';
import { privateDynamoPort, startPrivateDynamo, type PrivateDynamo } from './private-dynamo.js';

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
    /**
     * Before the rates, a window of this many seconds at the first rate that is not reported: DynamoDB Local's
     * JVM and the roles' JIT start cold, and without it the first rate measured the warm-up. Default 10 when
     * --seconds ≥ 30, else 0.
     */
    warmup: { type: 'string' },
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
const warmupSeconds = Number(values.warmup ?? (full ? 10 : 0));
const config = loadConfig();

/** The connector's batch settings (see --batch). */
function batchSettings(): Record<string, number> {
  if (values.batch === 'bench') return { maxRecords: 1000, pollIntervalMs: 50, idlePollIntervalMs: 100 };
  if (values.batch === 'shipped') return (JSON.parse(readFileSync(path.join(rolesDir, 'connectors/journal.json'), 'utf8')) as { batch: Record<string, number> }).batch;
  return JSON.parse(values.batch!) as Record<string, number>;
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
  if (mode === 'in-memory' && !values['keep-dynamodb'] && !privateDynamo) restartDynamo(config.dynamodbEndpoint);
  const run = randomBytes(3).toString('hex');
  const db = await createTestDatabase(`bench_e2e_${run}`, { max: 2 });
  const pool = db.pool;
  await migrate(pool, 'migrations');
  const reader = `bench_reader_${run}`;
  await ensureReaderRole(pool, reader, 'bench-reader');
  await loadMasterData(pool, generateMasterData());
  const readerUrl = new URL(db.url);
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
    DATABASE_URL: db.url,
    API_DATABASE_URL: readerUrl.toString(),
    CONNECTOR_FILE: connectorFile,
    GROUP_PREFIX: `bench-${run}.`,
    API_PORT: String(apiPort),
    LAG_POLL_INTERVAL_MS: '1000',
  };
  const setup = node('src/main/cli.ts', ['setup'], env, [], rolesDir);
  if ((await setup.exited) !== 0) throw new Error(setup.output());
  const profDir = values['cpu-prof'];
  if (profDir) mkdirSync(profDir, { recursive: true });
  const api = `http://127.0.0.1:${apiPort}`;
  const roles = createRoleProcesses({ env, ports, api, profDir, rolesDir });
  const stack = stackPids(privateDynamo?.child.pid);
  const results: RateResult[] = [];
  let ceiling: RateResult | undefined;
  let stagesAlone: StagesAlone | undefined;
  const loadBefore = loadavg();
  let pipelineOk = true;
  try {
    if (backlog > 0) stagesAlone = await backlogPhase({ roles, env, table, run, inventories: values.inventories!, backlog, stack });
    for (const r of roleNames) roles.start(r);
    await roles.whenReady(roleNames);
    const probe = await startProbe({ config, table, run, api });
    const measure = createRateWindow({ counters: createCounters(roles, stack), probe, env, table, run, inventories: values.inventories!, dynamodbEndpoint: config.dynamodbEndpoint });
    if (warmupSeconds > 0) {
      console.log(`warm-up: ${warmupSeconds} s at ${rates[0]} ev/s, not reported`);
      await measure(rates[0]!, warmupSeconds);
    }
    for (const rate of rates) results.push(await measure(rate, seconds));
    if (ceilingSeconds > 0) ceiling = await measure(0, ceilingSeconds);
  } catch (err) {
    pipelineOk = false;
    for (const r of roles.started()) console.error(`--- ${r}\n${roles.process(r).output().slice(-3000)}`);
    throw err;
  } finally {
    await roles.stop();
    await db.drop();
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
