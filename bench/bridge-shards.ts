/**
 * Relay throughput of one bridge process across 1, 4 and 8 shards,
 * exactly-once, with the bridge's CPU time per million records — the cost of
 * scaling a table's stream out. DynamoDB Local gives a table one shard, so the
 * shards come from the split harness (test/source/harness/serve.ts, run as a
 * process of its own so that its CPU is not counted here): the same real
 * records, spread over 2^d shards by partition-key hash from the first record.
 * Companion of bench/bridge-throughput.ts (one real shard against its ceilings).
 *
 *   node --import tsx bench/bridge-shards.ts   (EVENTS=3000 RUNS=3 SHARDS=1,4,8; medians per shard count)
 * JSON → bench/results/bridge-shards.json
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand } from '@aws-sdk/client-dynamodb-streams';
import { Registry, type Counter } from 'prom-client';
import { createJournal } from '../src/command/journal.js';
import { loadConfig } from '../src/config/config.js';
import { defaultSchemasDir, loadCatalog } from '../src/events/catalog.js';
import { createSchemaStore } from '../src/events/schema-store.js';
import { syncSchemas } from '../src/events/schema-sync.js';
import { createEventSerde } from '../src/events/serde.js';
import { inventoryUpcasters } from '../src/events/upcasters/index.js';
import { createKafka, kafkaSettingsOf } from '../src/log/kafka.js';
import { createBridge, ensureTopics } from '../src/source/bridge.js';
import { loadConnector, parseConnector } from '../src/source/connector.js';
import { createDynamo, createDynamoStreams } from '../src/source/dynamodb.js';
import { silentLogger } from '../src/shared/logger.js';
import { sleep } from '../src/shared/retry.js';
import { writeBenchJournal } from './journal-items.js';

const EVENTS = Number(process.env.EVENTS ?? 3_000);
const RUNS = Number(process.env.RUNS ?? 3);
const SHARDS = (process.env.SHARDS ?? '1,4,8').split(',').map(Number);
const config = loadConfig();
const logger = silentLogger();
const dyn = { endpoint: config.dynamodbEndpoint, region: config.awsRegion, accessKeyId: config.awsAccessKeyId, secretAccessKey: config.awsSecretAccessKey };
const ddb = createDynamo(dyn);
const kafka = createKafka(kafkaSettingsOf(config), logger, 'bench-shards');
const catalog = loadCatalog(defaultSchemasDir());
const store = createSchemaStore({ url: config.schemaRegistryUrl, username: config.schemaRegistryUsername, password: config.schemaRegistryPassword });
const id = `bench-sh-${Date.now().toString(36)}`;
const base = loadConnector(path.resolve(import.meta.dirname, '../connectors/journal.json'));
const serveScript = path.resolve(import.meta.dirname, '../test/source/harness/serve.ts');

const writeJournal = (table: string) => writeBenchJournal({ ddb, catalog, table, events: EVENTS, idPrefix: 'SH' });

/** The harness as a child process with 2^depth shards from the first record. */
async function startHarness(depth: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', serveScript], { env: { ...process.env, HARNESS_INITIAL_DEPTH: String(depth) }, stdio: ['ignore', 'pipe', 'inherit'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /HARNESS_ENDPOINT (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`harness exited with ${code}`)));
  });
  return { endpoint, stop: () => new Promise<void>((resolve) => (child.once('exit', () => resolve()), child.kill('SIGTERM'))) };
}

async function relayedOf(registry: Registry): Promise<number> {
  const m = registry.getSingleMetric('cdc_bridge_records_relayed_total') as Counter | undefined;
  return m ? (await m.get()).values.reduce((a, v) => a + v.value, 0) : 0;
}

async function main() {
  const table = `${id}-journal`;
  const streamArn = await createJournal({ ddb, table, catalog }).ensureTable();
  process.stdout.write(`writing ${EVENTS} events to ${table} ...`);
  const total = await writeJournal(table);
  console.log(` ${total} written`);
  const admin = kafka.admin();
  await admin.connect();
  const rows: { shards: number; run: number; openShards: number; recordsPerSecond: number; cpuMsPerMillion: number; wallMs: number }[] = [];
  for (const shards of SHARDS) {
    const depth = Math.log2(shards);
    if (!Number.isInteger(depth)) throw new Error(`SHARDS must be powers of two, got ${shards}`);
    const harness = await startHarness(depth);
    const streams = createDynamoStreams({ ...dyn, endpoint: harness.endpoint });
    // The harness reads the real stream on first use: do it before the clock starts.
    const d = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    const open = (d.StreamDescription?.Shards ?? []).filter((s) => !s.SequenceNumberRange?.EndingSequenceNumber).length;
    for (let r = 0; r < RUNS; r++) {
      const name = `${id}.s${shards}.r${r}`;
      const connector = parseConnector({
        ...base,
        table,
        topic: `${name}.events`,
        dlqTopic: `${name}.dlq`,
        checkpointTopic: `${name}.checkpoints`,
        leases: { enabled: false },
        backfill: { onFirstStart: false },
      });
      await ensureTopics(admin, connector, { replicationFactor: config.topicReplicationFactor });
      await syncSchemas(store, catalog, connector.topic);
      const registry = new Registry();
      const bridge = createBridge({
        connector,
        kafka,
        ddb,
        streams,
        serde: createEventSerde({ topic: connector.topic, catalog, store, upcasters: inventoryUpcasters }),
        schemaStore: store,
        logger,
        metrics: registry,
        catalog,
      });
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await bridge.start();
      while ((await relayedOf(registry)) < total) await sleep(10);
      const wallMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      await bridge.stop();
      const row = { shards, run: r, openShards: open, recordsPerSecond: total / (wallMs / 1000), cpuMsPerMillion: ((cpu.user + cpu.system) / 1000 / total) * 1e6, wallMs };
      rows.push(row);
      console.log(`${String(shards).padStart(2)} shards: ${row.recordsPerSecond.toFixed(0).padStart(6)} rec/s, CPU ${(row.cpuMsPerMillion / 1000).toFixed(0)} s per million records`);
    }
    await harness.stop();
  }
  await admin.disconnect();
  await ddb.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
  const out = path.resolve(import.meta.dirname, 'results/bridge-shards.json');
  mkdirSync(path.dirname(out), { recursive: true });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const summary = SHARDS.map((shards) => {
    const mine = rows.filter((x) => x.shards === shards);
    return { shards, recordsPerSecond: median(mine.map((x) => x.recordsPerSecond)), cpuSecondsPerMillion: median(mine.map((x) => x.cpuMsPerMillion)) / 1000 };
  });
  for (const x of summary) console.log(`median ${String(x.shards).padStart(2)} shards: ${x.recordsPerSecond.toFixed(0)} rec/s, ${x.cpuSecondsPerMillion.toFixed(0)} CPU s per million`);
  writeFileSync(out, `${JSON.stringify({ at: new Date().toISOString(), events: total, runs: RUNS, delivery: 'exactly-once', summary, rows }, null, 2)}\n`);
  console.log(`written ${out}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
