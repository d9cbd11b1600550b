/**
 * Relay throughput of the CDC bridge against its two ceilings, in one run:
 *   source — a plain GetRecords loop over the same stream (nothing else done);
 *   sink   — kafkajs producing the same records from memory, in transactions
 *            of the same size the bridge uses (1,000 records);
 *   bridge — createBridge relaying the stream from TRIM_HORIZON, exactly-once.
 * Median of RUNS runs each; ratios against the lower ceiling; JSON written to
 * bench/results/bridge.json.
 *
 *   node --import tsx bench/bridge-throughput.ts   (EVENTS=3000 RUNS=3)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { GetRecordsCommand, GetShardIteratorCommand, DescribeStreamCommand, type _Record } from '@aws-sdk/client-dynamodb-streams';
import { Partitioners } from 'kafkajs';
import { Registry } from 'prom-client';
import { createJournal } from '../src/command/journal.js';
import { loadConfig } from '../src/config/config.js';
import { defaultSchemasDir, loadCatalog } from '../src/events/catalog.js';
import { createSchemaStore } from '../src/events/schema-store.js';
import { syncSchemas } from '../src/events/schema-sync.js';
import { createEventSerde } from '../src/events/serde.js';
import { inventoryUpcasters } from '../src/events/upcasters/index.js';
import { createKafka } from '../src/log/kafka.js';
import { createBridge, ensureTopics } from '../src/source/bridge.js';
import { loadConnector, parseConnector } from '../src/source/connector.js';
import { createDynamo, createDynamoStreams } from '../src/source/dynamodb.js';
import { silentLogger } from '../src/shared/logger.js';
import { sleep } from '../src/shared/retry.js';
import { writeBenchJournal } from './journal-items.js';

const EVENTS = Number(process.env.EVENTS ?? 3_000);
const RUNS = Number(process.env.RUNS ?? 3);
const config = loadConfig();
const logger = silentLogger();
const dyn = { endpoint: config.dynamodbEndpoint, region: config.awsRegion, accessKeyId: config.awsAccessKeyId, secretAccessKey: config.awsSecretAccessKey };
const ddb = createDynamo(dyn);
const streams = createDynamoStreams(dyn);
const kafka = createKafka(
  { brokers: config.kafkaBrokers, clientId: config.kafkaClientId, ssl: config.kafkaSsl, saslMechanism: config.kafkaSaslMechanism, saslUsername: config.kafkaSaslUsername, saslPassword: config.kafkaSaslPassword },
  logger,
  'bench',
);
const catalog = loadCatalog(defaultSchemasDir());
const store = createSchemaStore({ url: config.schemaRegistryUrl, username: config.schemaRegistryUsername, password: config.schemaRegistryPassword });
const id = `bench-${Date.now().toString(36)}`;
const base = loadConnector(path.resolve(import.meta.dirname, '../connectors/journal.json'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const table = `${id}-journal`;
  const topic = `${id}.events`;
  const journal = createJournal({ ddb, table, catalog });
  const streamArn = await journal.ensureTable();
  const admin = kafka.admin();
  await admin.connect();
  const connectorFor = (run: string) =>
    parseConnector({
      ...base,
      table,
      topic: `${topic}.${run}`,
      partitions: 6,
      dlqTopic: `${topic}.${run}.dlq`,
      checkpointTopic: `${id}.${run}.checkpoints`,
      leases: { enabled: false },
      mapping: { ...base.mapping, persistenceId: 'pkey' },
    });

  process.stdout.write(`writing ${EVENTS} events to ${table} ...`);
  const total = await writeBenchJournal({ ddb, catalog, table, events: EVENTS, idPrefix: 'BENCH' });
  console.log(` ${total} written`);

  // --- source ceiling: GetRecords from TRIM_HORIZON until every record is read
  const shardId = (await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }))).StreamDescription!.Shards![0]!.ShardId!;
  const sourceRuns: number[] = [];
  let records: _Record[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    let it = (await streams.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    const got: _Record[] = [];
    while (got.length < total && it) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator: it, Limit: 1000 }));
      got.push(...(page.Records ?? []));
      it = page.NextShardIterator;
    }
    sourceRuns.push(total / ((performance.now() - t0) / 1000));
    records = got;
  }

  // --- sink ceiling: the same records, already in wire format, produced in transactions of 1,000
  const sinkRuns: number[] = [];
  const sinkTopic = `${topic}.sink`;
  await ensureTopics(admin, connectorFor('sink'), { replicationFactor: config.topicReplicationFactor });
  await syncSchemas(store, catalog, sinkTopic);
  const serde = createEventSerde({ topic: sinkTopic, catalog, store, upcasters: inventoryUpcasters });
  const messages = await Promise.all(
    records.map(async (rec) => {
      const img = rec.dynamodb!.NewImage!;
      return {
        key: img.pkey!.S!,
        value: await serde.wrap(img.event_type!.S!, Number(img.schema_version!.N), Buffer.from(img.payload!.B!)),
        headers: { event_type: img.event_type!.S!, sequence_nr: img.sequence_nr!.N! },
      };
    }),
  );
  for (let r = 0; r < RUNS; r++) {
    const producer = kafka.producer({ transactionalId: `${id}-sink-${r}`, idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const t0 = performance.now();
    for (let i = 0; i < messages.length; i += 1000) {
      const tx = await producer.transaction();
      await tx.send({ topic: sinkTopic, messages: messages.slice(i, i + 1000), acks: -1 });
      await tx.commit();
    }
    sinkRuns.push(messages.length / ((performance.now() - t0) / 1000));
    await producer.disconnect();
  }

  // --- the bridge, exactly-once, from TRIM_HORIZON (fresh topic and checkpoints each run)
  const bridgeRuns: number[] = [];
  const bridgeSteady: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const connector = connectorFor(`b${r}`);
    await ensureTopics(admin, connector, { replicationFactor: config.topicReplicationFactor });
    await syncSchemas(store, catalog, connector.topic);
    const bridge = createBridge({
      connector,
      kafka,
      ddb,
      streams,
      serde: createEventSerde({ topic: connector.topic, catalog, store, upcasters: inventoryUpcasters }),
      schemaStore: store,
      logger,
      metrics: new Registry(),
      catalog,
    });
    const t0 = performance.now();
    await bridge.start();
    let firstAt: number | undefined;
    let firstCount = 0;
    for (;;) {
      const relayed = bridge.status().shards.reduce((a, s) => a + s.relayed, 0);
      if (relayed > 0 && firstAt === undefined) {
        firstAt = performance.now();
        firstCount = relayed;
      }
      if (relayed >= total) break;
      await sleep(5);
    }
    const t1 = performance.now();
    bridgeRuns.push(total / ((t1 - t0) / 1000));
    bridgeSteady.push((total - firstCount) / ((t1 - firstAt!) / 1000));
    await bridge.stop();
  }
  await admin.disconnect();
  await ddb.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);

  const source = median(sourceRuns);
  const sink = median(sinkRuns);
  const bridgeTotal = median(bridgeRuns);
  const bridgeSteadyState = median(bridgeSteady);
  const lower = Math.min(source, sink);
  const result = {
    at: new Date().toISOString(),
    events: total,
    runs: RUNS,
    recordsPerSecond: { sourceGetRecordsLoop: source, sinkKafkajsFromMemory: sink, bridgeIncludingStartup: bridgeTotal, bridgeSteadyState },
    samples: { sourceRuns, sinkRuns, bridgeRuns, bridgeSteady },
    ratios: {
      bridgeVsSource: bridgeTotal / source,
      bridgeVsSink: bridgeTotal / sink,
      bridgeVsLowerCeiling: bridgeTotal / lower,
      bridgeSteadyVsLowerCeiling: bridgeSteadyState / lower,
    },
    lowerCeiling: source <= sink ? 'source' : 'sink',
  };
  const f = (x: number) => x.toFixed(0).padStart(8);
  console.log(`source (GetRecords loop)    ${f(source)} rec/s`);
  console.log(`sink (kafkajs from memory)  ${f(sink)} rec/s`);
  console.log(`bridge (incl. start-up)     ${f(bridgeTotal)} rec/s`);
  console.log(`bridge (steady state)       ${f(bridgeSteadyState)} rec/s`);
  console.log(
    `ratios: bridge/source ${result.ratios.bridgeVsSource.toFixed(2)}  bridge/sink ${result.ratios.bridgeVsSink.toFixed(2)}  ` +
      `bridge/lower ceiling (${result.lowerCeiling}) ${result.ratios.bridgeVsLowerCeiling.toFixed(2)} (steady ${result.ratios.bridgeSteadyVsLowerCeiling.toFixed(2)})`,
  );
  const out = path.resolve(import.meta.dirname, 'results/bridge.json');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`written ${out}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
