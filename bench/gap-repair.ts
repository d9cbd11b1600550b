/**
 * What a stream outage costs the bridge once the stream has trimmed its
 * checkpoint, before and after gap repair, for journals of several sizes:
 * items read from DynamoDB, events relayed to Kafka, and the time it takes.
 *
 *  - before: the previous trimmed-data path, a snapshot of the whole table
 *    (every item scanned, every item relayed), whatever the outage's length;
 *    measured with this revision's backfill given a plan that leaves nothing
 *    to the stream, which does that same work (parallel Scan, 4 segments,
 *    every page relayed in a Kafka transaction);
 *  - after (index): src/source/gap-repair.ts over the write-time index;
 *  - after (scan): the same repair on a table without the index (filtered Scan).
 *
 * The journal's events are spread evenly over 30 days of written_at ending
 * now; an outage of H hours ends now, so its gap is the events of the last H
 * hours. The topic holds, as after a real outage, what the bridge relayed
 * just before it (the events within 10 minutes before the outage, with their
 * write times as Kafka timestamps). The repair itself runs for real (DynamoDB
 * reads, mapping, Avro, Kafka transactions, the read of what the topic
 * holds); only the stream is a stand-in that answers "trimmed" for the
 * checkpoint and shows the stream resuming now.
 *
 * DynamoDB: a private in-memory DynamoDB Local on its own port, started here
 * from the stack's jars ($STACK_DIR/dynamodb, run `npm run stack -- up` once)
 * and stopped at the end; the shared one is never used (DYNAMODB_ENDPOINT_BENCH=…
 * to use another endpoint instead). Kafka and the registry: the stack's.
 *
 *   node --import tsx bench/gap-repair.ts                       (SIZES=10000,100000 EXTRAPOLATE=1000000 OUTAGES=1,25)
 * JSON → bench/results/gap-repair.json, table → bench/results/gap-repair.md
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { CreateTableCommand, PutItemCommand, waitUntilTableExists, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import { itemOf, journalTableInput } from '../src/command/journal.js';
import { startPrivateDynamo } from './private-dynamo.js';
import { loadConfig } from '../src/config/config.js';
import { defaultSchemasDir, loadCatalog } from '../src/events/catalog.js';
import { createSchemaStore } from '../src/events/schema-store.js';
import { syncSchemas } from '../src/events/schema-sync.js';
import { createEventSerde } from '../src/events/serde.js';
import { inventoryUpcasters } from '../src/events/upcasters/index.js';
import type { Checkpoint, CheckpointReader } from '../src/log/checkpoints.js';
import { createKafka, kafkaSettingsOf } from '../src/log/kafka.js';
import { readKeyHighWaterMarks } from '../src/log/key-high-water.js';
import { createTransactionalSink } from '../src/log/relay-producer.js';
import { silentLogger } from '../src/shared/logger.js';
import { JOURNAL_WRITE_TIME_INDEX } from '../src/shared/write-time-index.js';
import { runBackfill } from '../src/source/backfill.js';
import { ensureTopics, loadConnector, parseConnector, type ConnectorConfig } from '../src/source/connector.js';
import { createDynamo } from '../src/source/dynamodb.js';
import { runGapRepair } from '../src/source/gap-repair.js';
import { createRecordMapper } from '../src/source/mapping.js';
import { TrimmedDataError, type StreamReader } from '../src/source/stream-reader.js';

const SIZES = (process.env.SIZES ?? '10000,100000').split(',').map(Number);
const EXTRAPOLATE = (process.env.EXTRAPOLATE ?? '1000000').split(',').filter(Boolean).map(Number);
const OUTAGES_H = (process.env.OUTAGES ?? '1,25').split(',').map(Number);
const DAYS = 30;
const SKEW_MS = 120_000;
const KEYS = 5_000;
const config = loadConfig();
const logger = silentLogger();
const kafka = createKafka(kafkaSettingsOf(config), logger, 'bench-gap');
const catalog = loadCatalog(defaultSchemasDir());
const store = createSchemaStore({ url: config.schemaRegistryUrl, username: config.schemaRegistryUsername, password: config.schemaRegistryPassword });
const run = `bench-gap-${Date.now().toString(36)}`;
const base = loadConnector(path.resolve(import.meta.dirname, '../connectors/journal.json'));
const NOW = Date.now();

/** A private in-memory DynamoDB Local (bench/private-dynamo.ts), or the one DYNAMODB_ENDPOINT_BENCH names. */
async function privateDynamo(): Promise<{ endpoint: string; child: ChildProcess | undefined }> {
  if (process.env.DYNAMODB_ENDPOINT_BENCH) return { endpoint: process.env.DYNAMODB_ENDPOINT_BENCH, child: undefined };
  return startPrivateDynamo();
}

function dynamoAt(endpoint: string): DynamoDBClient {
  return createDynamo({ endpoint, region: config.awsRegion, accessKeyId: config.awsAccessKeyId, secretAccessKey: config.awsSecretAccessKey, requestTimeoutMs: 60_000 });
}

/** The journal layout with (or without) the write-time index, no stream: the bench reads the table, not its stream. */
async function createTable(ddb: DynamoDBClient, table: string, withIndex: boolean) {
  await ddb.send(new CreateTableCommand(journalTableInput(table, { stream: false, writeTimeIndex: withIndex })));
  await waitUntilTableExists({ client: ddb, maxWaitTime: 60 }, { TableName: table });
}

/** Event k of n: id k mod KEYS, written at an even spacing over DAYS ending just before NOW (sequence numbers follow write order per id). */
function eventAt(k: number, n: number) {
  const persistenceId = `inventory-GB-${k % KEYS}`;
  const sequenceNr = Math.floor(k / KEYS) + 1;
  const writtenAt = NOW - DAYS * 86_400_000 + Math.floor(((k + 1) * DAYS * 86_400_000) / (n + 1));
  return { persistenceId, sequenceNr, writtenAt };
}

async function load(ddb: DynamoDBClient, table: string, n: number): Promise<number> {
  const type = catalog.get('StockReceived', 2).type;
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 6 }, async () => {
      while (next < n) {
        const e = eventAt(next++, n);
        const payload = type.toBuffer({
          metadata: { eventId: `${e.persistenceId}-${e.sequenceNr}`, persistenceId: e.persistenceId, sequenceNr: e.sequenceNr, occurredAt: e.writtenAt, correlationId: 'bench', causationId: null },
          quantity: e.sequenceNr,
          lotNumber: 'LOT',
          supplierId: null,
          expiryDate: null,
        });
        const Item: Record<string, AttributeValue> = itemOf({ ...e, eventType: 'StockReceived', schemaVersion: 2, payload, eventId: `${e.persistenceId}-${e.sequenceNr}`, correlationId: 'bench', causationId: null });
        for (let attempt = 0; ; attempt++) {
          try {
            await ddb.send(new PutItemCommand({ TableName: table, Item }));
            break;
          } catch (err) {
            if (attempt >= 10 || (err as { name?: string }).name !== 'InternalServerError') throw err;
          }
        }
      }
    }),
  );
  return (Date.now() - started) / 1000;
}

/** The stream's stand-in: the checkpoint's position is trimmed, the stream resumes now (an empty shard for `before`). */
function streamStandIn(resumesWith: boolean): StreamReader {
  const record: _Record = { eventName: 'INSERT', dynamodb: { SequenceNumber: '900', ApproximateCreationDateTime: new Date(NOW), NewImage: { written_at: { N: String(NOW) } } } };
  return {
    describeShards: async () => [{ shardId: 'shard-1' }],
    async iterator(_arn, shardId, position) {
      if (typeof position === 'string') throw new TrimmedDataError(shardId, new Error('TrimmedDataAccessException'));
      return 'it';
    },
    getRecords: async () => ({ records: resumesWith ? [record] : [], nextIterator: resumesWith ? 'it' : undefined, latencyMs: 0 }),
  };
}

const memoryCheckpoints = (entries: [string, Checkpoint][]): CheckpointReader => ({ read: async () => new Map(entries) });

async function topicsFor(c: ConnectorConfig) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, c, { replicationFactor: config.topicReplicationFactor });
  } finally {
    await admin.disconnect();
  }
  await syncSchemas(store, catalog, c.topic);
  return createEventSerde({ topic: c.topic, catalog, store, upcasters: inventoryUpcasters });
}

interface Row {
  events: number;
  outageHours: number | 'any';
  path: 'before: whole-table snapshot' | 'after: write-time index' | 'after: filtered Scan';
  gapEvents: number;
  itemsRead: number;
  relayed: number;
  alreadyInTopic: number;
  topicRecordsRead: number;
  seconds: number;
  /** Of `seconds`, reading what the topic holds (a consumer group join of ~3 s included). */
  topicReadSeconds?: number;
  extrapolated?: true;
}

async function measure(ddb: DynamoDBClient, n: number, withIndex: boolean, table: string): Promise<Row[]> {
  const rows: Row[] = [];
  const tag = `${run}-${n}-${withIndex ? 'i' : 's'}`;
  const connectorOf = (suffix: string) =>
    parseConnector({
      ...base,
      name: `${tag}-${suffix}`,
      table,
      topic: `${tag}-${suffix}.events`,
      checkpointTopic: `${tag}-${suffix}.checkpoints`,
      dlqTopic: undefined,
      leases: { enabled: false },
      gapRepair: { ...base.gapRepair, skewAllowanceMs: SKEW_MS, ...(withIndex ? {} : { index: undefined }) },
    });
  for (const hours of OUTAGES_H) {
    const connector = connectorOf(`${hours}h`);
    const serde = await topicsFor(connector);
    const mapper = createRecordMapper({ connector, serde, catalog });
    const outageStart = NOW - hours * 3_600_000;
    // What the topic held when the bridge stopped: the events of the 10 minutes before, at their write times.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const before = [];
    for (let k = 0; k < n; k++) {
      const e = eventAt(k, n);
      if (e.writtenAt >= outageStart - 600_000 && e.writtenAt < outageStart) before.push(e);
    }
    for (let i = 0; i < before.length; i += 500) {
      await producer.send({
        topic: connector.topic,
        messages: before.slice(i, i + 500).map((e) => ({ key: e.persistenceId, value: Buffer.from('x'), timestamp: String(e.writtenAt), headers: { sequence_nr: String(e.sequenceNr) } })),
      });
    }
    await producer.disconnect();
    const gapEvents = Array.from({ length: n }, (_, k) => eventAt(k, n)).filter((e) => e.writtenAt >= outageStart).length;
    const started = performance.now();
    const r = await runGapRepair({
      ddb,
      connector,
      mapper,
      reader: streamStandIn(true),
      streamArn: 'arn:bench',
      shards: [{ shardId: 'shard-1' }],
      checkpoints: memoryCheckpoints([['shard-1', { sequenceNumber: '1', shardEnded: false, updatedAt: outageStart, leaseEpoch: 0, writtenAt: outageStart }]]),
      openSink: () => createTransactionalSink({ kafka, transactionalId: `${connector.name}.repair`, logger }),
      readMarks: (sinceMs) => readKeyHighWaterMarks({ kafka, topic: connector.topic, sinceMs, logger }),
      logger,
    });
    const seconds = (performance.now() - started) / 1000;
    rows.push({ events: n, outageHours: hours, path: withIndex ? 'after: write-time index' : 'after: filtered Scan', gapEvents, itemsRead: r!.itemsRead, relayed: r!.relayed, alreadyInTopic: r!.alreadyInTopic, topicRecordsRead: r!.topicRecordsRead, seconds, topicReadSeconds: r!.topicReadMs / 1000 });
    console.log(JSON.stringify(rows.at(-1)));
  }
  if (withIndex) {
    // Before: the whole table, every item relayed, whatever the outage (the previous path).
    const connector = connectorOf('before');
    const serde = await topicsFor(connector);
    const mapper = createRecordMapper({ connector, serde, catalog });
    const started = performance.now();
    const b = await runBackfill({
      ddb,
      connector,
      mapper,
      reader: streamStandIn(false),
      streamArn: 'arn:bench',
      shards: [{ shardId: 'shard-1' }],
      checkpoints: memoryCheckpoints([]),
      openSink: (i) => createTransactionalSink({ kafka, transactionalId: `${connector.name}.backfill-${i}`, logger }),
      logger,
    });
    const seconds = (performance.now() - started) / 1000;
    rows.push({ events: n, outageHours: 'any', path: 'before: whole-table snapshot', gapEvents: 0, itemsRead: b.items, relayed: b.relayed, alreadyInTopic: 0, topicRecordsRead: 0, seconds });
    console.log(JSON.stringify(rows.at(-1)));
  }
  return rows;
}

/**
 * A larger size from the largest measured one: counts scale with the table
 * (the events are spread evenly in time), and time as the fixed part (the
 * topic read, a group join) plus the rest per item of that row scaled.
 */
function extrapolate(rows: Row[], n: number): Row[] {
  const largest = Math.max(...rows.map((r) => r.events));
  const scale = n / largest;
  return rows
    .filter((r) => r.events === largest)
    .map((r) => {
      const fixed = r.topicReadSeconds ?? 0;
      return {
        ...r,
        events: n,
        gapEvents: Math.round(r.gapEvents * scale),
        itemsRead: Math.round(r.itemsRead * scale),
        relayed: Math.round(r.relayed * scale),
        alreadyInTopic: Math.round(r.alreadyInTopic * scale),
        topicRecordsRead: Math.round(r.topicRecordsRead * scale),
        seconds: Math.round((fixed + (r.seconds - fixed) * scale) * 10) / 10,
        extrapolated: true as const,
      };
    });
}

/** The report docs/operating/gap-repair.md links to (generated, never edited by hand). */
function markdown(rows: Row[], at: string): string {
  const f = (x: number) => x.toLocaleString('en-US');
  const lines = [
    `# Gap repair: what an outage costs (bench/gap-repair.ts, ${at})`,
    '',
    `Journal events spread evenly over ${DAYS} days, ${f(KEYS)} persistence ids, skew allowance ${SKEW_MS / 1000} s; private in-memory DynamoDB Local, the stack's Kafka; a 2-core machine shared with other work. "before" is the previous trimmed-data path (a snapshot of the whole table, whatever the outage). Rows marked * are extrapolated from the largest measured size, not measured.`,
    '',
    '| events | outage | path | gap (events) | items read | relayed | already in topic (skipped) | time |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${f(r.events)}${r.extrapolated ? ' *' : ''} | ${r.outageHours === 'any' ? 'any' : `${r.outageHours} h`} | ${r.path} | ${r.outageHours === 'any' ? '—' : f(r.gapEvents)} | ${f(r.itemsRead)} | ${f(r.relayed)} | ${f(r.alreadyInTopic)} | ${r.seconds.toFixed(1)} s${r.topicReadSeconds !== undefined ? ` (topic read ${r.topicReadSeconds.toFixed(1)} s)` : ''} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const dyn = await privateDynamo();
const ddb = dynamoAt(dyn.endpoint);
const rows: Row[] = [];
const loads: { events: number; index: boolean; seconds: number }[] = [];
try {
  for (const n of SIZES) {
    for (const withIndex of [true, false]) {
      const table = `${run}-${n}-${withIndex ? 'index' : 'plain'}`;
      await createTable(ddb, table, withIndex);
      const seconds = await load(ddb, table, n);
      loads.push({ events: n, index: withIndex, seconds });
      console.log(JSON.stringify({ loaded: table, events: n, seconds }));
      rows.push(...(await measure(ddb, n, withIndex, table)));
    }
  }
} finally {
  dyn.child?.kill('SIGTERM');
}
for (const n of EXTRAPOLATE) if (!SIZES.includes(n)) rows.push(...extrapolate(rows, n));
const out = path.resolve(import.meta.dirname, 'results');
mkdirSync(out, { recursive: true });
writeFileSync(
  path.join(out, 'gap-repair.json'),
  `${JSON.stringify(
    {
      bench: 'gap-repair',
      at: new Date().toISOString(),
      loadAverageAtEnd: loadavg()[0],
      setup: { daysOfHistory: DAYS, persistenceIds: KEYS, skewAllowanceMs: SKEW_MS, dynamodb: dyn.child ? 'private in-memory DynamoDB Local' : dyn.endpoint, segments: base.backfill.segments, indexSlices: JOURNAL_WRITE_TIME_INDEX.slices },
      extrapolation: 'rows marked extrapolated scale the largest measured size linearly (items read, events relayed and seconds per item of that size); not measured',
      loads,
      rows,
    },
    null,
    2,
  )}\n`,
);
writeFileSync(path.join(out, 'gap-repair.md'), markdown(rows, new Date().toISOString()));
console.log(`wrote ${path.join(out, 'gap-repair.json')} and gap-repair.md`);
process.exit(0);
