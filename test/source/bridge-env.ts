import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateTableCommand, DeleteTableCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { Registry } from 'prom-client';
import { expect } from 'vitest';
import { createJournal, type Journal } from '../../src/command/journal.js';
import { ConcurrencyError } from '../../src/shared/errors.js';
import { createLogger } from '../../src/shared/logger.js';
import type { EventSerde } from '../../src/events/serde.js';
import { createBridge, ensureTopics, type Bridge } from '../../src/source/bridge.js';
import { loadConnector, parseConnector, type ConnectorConfig } from '../../src/source/connector.js';
import type { SinkClientName } from '../../src/log/kafka.js';
import { readCommittedToEnd } from '../helpers/read-to-end.js';
import { kafkaWithSink } from '../helpers/sink-clients.js';
import { catalog, schemaStore, serdeFor, type AnyEvent } from '../helpers/schemas.js';
import { config, dynamo, dynamoStreams, kafka, testLogger, uniqueName } from '../helpers/stack.js';

/** Test environment of the CDC bridge: unique table, topics and registry subjects per call. */
export { catalog };
export const connectorsDir = path.resolve(import.meta.dirname, '../../connectors');

/** A shipped connector file with unique names (table, topic, checkpoint topic) and test-friendly timings. */
export function testConnector(file: string, overrides: Record<string, unknown> = {}): ConnectorConfig {
  const base = loadConnector(path.join(connectorsDir, file));
  const id = uniqueName('cdc');
  return parseConnector({
    name: base.name,
    table: `${id}-t`,
    topic: `${id}.events`,
    partitions: 3,
    aggregate: base.aggregate,
    mapping: { ...base.mapping, persistenceId: base.mapping.persistenceId },
    delivery: base.delivery,
    modifyRemovePolicy: base.modifyRemovePolicy,
    batch: { maxRecords: 1000, pollIntervalMs: 50, idlePollIntervalMs: 200 },
    shards: { rediscoveryIntervalMs: 2000 },
    checkpointTopic: `${id}.checkpoints`,
    leases: { enabled: true, durationMs: 4000, renewIntervalMs: 1000 },
    backfill: { onFirstStart: true, segments: 2, pageSize: 100 },
    gapRepair: base.gapRepair,
    ...overrides,
  });
}

/**
 * A journal-layout connector with its own table (created, with a stream), topics
 * and registry subjects; the table name goes into `tables` for the file's cleanup.
 */
export async function journalConnector(tables: string[], overrides: Record<string, unknown> = {}) {
  const connector = testConnector('journal.json', overrides);
  tables.push(connector.table);
  const journal = createJournal({ ddb: dynamo(), table: connector.table, catalog });
  await journal.ensureTable();
  const serde = await prepareTopics(connector);
  return { connector, journal, serde };
}

/**
 * What a test file running a bridge over a folder of connector files leaves
 * behind: the folder, and the tables (with their lease tables) named in
 * `tables`. `remove()` goes in the file's afterAll.
 */
export function connectorFolderScope(prefix: string): { dir: string; tables: string[]; remove: () => Promise<void> } {
  const dir = mkdtempSync(path.join(tmpdir(), `${prefix}-`));
  const tables: string[] = [];
  return {
    dir,
    tables,
    remove: async () => {
      rmSync(dir, { recursive: true, force: true });
      for (const t of tables) {
        await dynamo().send(new DeleteTableCommand({ TableName: t })).catch(() => undefined);
        await dynamo().send(new DeleteTableCommand({ TableName: `${t}-leases` })).catch(() => undefined);
      }
    },
  };
}

/** A table in seed 004's layout (`aggregate_id` + `version`), with a NEW_IMAGE stream unless `stream: false`. */
export async function createSeed004Table(table: string, options: { stream?: boolean } = {}): Promise<void> {
  await dynamo().send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [
        { AttributeName: 'aggregate_id', AttributeType: 'S' },
        { AttributeName: 'version', AttributeType: 'N' },
      ],
      KeySchema: [
        { AttributeName: 'aggregate_id', KeyType: 'HASH' },
        { AttributeName: 'version', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      ...(options.stream === false ? {} : { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' as const } }),
    }),
  );
  await waitUntilTableExists({ client: dynamo(), maxWaitTime: 30 }, { TableName: table });
}

export async function prepareTopics(connector: ConnectorConfig): Promise<EventSerde> {
  const admin = kafka('cdc-admin').admin();
  await admin.connect();
  try {
    await ensureTopics(admin, connector, { replicationFactor: config.topicReplicationFactor });
  } finally {
    await admin.disconnect();
  }
  return serdeFor<AnyEvent>(connector.topic);
}

/** `sinkClient` picks the client of the bridge's producer (BRIDGE_KAFKA_CLIENT; default kafkajs). */
export function bridgeFor(connector: ConnectorConfig, serde: EventSerde, extra: { workerId?: string; metrics?: Registry; sinkClient?: SinkClientName } = {}): Bridge {
  return createBridge({
    connector,
    kafka: extra.sinkClient ? kafkaWithSink(extra.sinkClient, 'cdc-bridge') : kafka('cdc-bridge'),
    ddb: dynamo(),
    streams: dynamoStreams(),
    serde,
    schemaStore: schemaStore(),
    // BRIDGE_LOG_LEVEL=info shows the in-process bridges' logs when a test needs a post-mortem.
    logger: process.env.BRIDGE_LOG_LEVEL ? createLogger({ level: process.env.BRIDGE_LOG_LEVEL, name: 'bridge-test' }) : testLogger,
    metrics: extra.metrics ?? new Registry(),
    catalog,
    ...(extra.workerId ? { workerId: extra.workerId } : {}),
  });
}

export interface ReadMessage {
  key: string;
  partition: number;
  offset: string;
  headers: Record<string, string>;
  value: Buffer;
}

/**
 * Reads a topic with read_committed from the beginning until `done(messages)`
 * holds, then on to the end offsets taken at that moment, so a duplicate
 * written before then shows (test/helpers/read-to-end.ts).
 */
export async function readTopic(
  topic: string,
  done: (messages: ReadMessage[]) => boolean,
  options: { timeoutMs?: number } = {},
): Promise<ReadMessage[]> {
  const { timeoutMs = 90_000 } = options;
  const out: ReadMessage[] = [];
  await readCommittedToEnd({
    kafka: kafka('cdc-reader'),
    topic,
    groupId: uniqueName('cdc-read'),
    timeoutMs,
    ready: () => done(out),
    progress: () => `(${out.length} messages)`,
    onMessage: (partition, message) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
      out.push({ key: message.key?.toString('utf8') ?? '', partition, offset: message.offset, headers, value: message.value ?? Buffer.alloc(0) });
    },
  });
  return out;
}

/** Journal positions seen per persistence id, in topic order. */
export function positions(messages: ReadMessage[]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const msg of messages) {
    const list = m.get(msg.key) ?? [];
    list.push(Number(msg.headers.sequence_nr));
    m.set(msg.key, list);
  }
  return m;
}

/** Every journal position 1..n of each id in `counts` is in the topic exactly once, and nothing else is (the first 20 of each kind named). */
export function expectEachOnce(messages: ReadMessage[], counts: Map<string, number>) {
  const seen = positions(messages);
  const missing: string[] = [];
  const doubled: string[] = [];
  for (const [id, n] of counts) {
    const got = seen.get(id) ?? [];
    for (let s = 1; s <= n; s++) {
      const times = got.filter((x) => x === s).length;
      if (times === 0) missing.push(`${id}#${s}`);
      if (times > 1) doubled.push(`${id}#${s}`);
    }
  }
  expect({ missing: missing.slice(0, 20), doubled: doubled.slice(0, 20), extra: messages.length - [...counts.values()].reduce((a, b) => a + b, 0) }).toEqual({ missing: [], doubled: [], extra: 0 });
}

/**
 * Appends one StockReceived at `seq`, riding out an overloaded DynamoDB Local
 * (InternalServerError "waiting for a lock"): a retried append that had in
 * fact succeeded shows as a ConcurrencyError, so the journal is asked.
 */
export async function appendReceived(journal: Journal, persistenceId: string, seq: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await journal.append({
        persistenceId,
        expectedSequenceNr: seq - 1,
        events: [{ type: 'StockReceived', data: { quantity: seq, lotNumber: `LOT-${seq}`, supplierId: null, expiryDate: null } }],
      });
      return;
    } catch (err) {
      if (err instanceof ConcurrencyError && attempt > 0 && (await journal.highestSequenceNr(persistenceId)) >= seq) return;
      if (attempt >= 10 || (err as { name?: string }).name !== 'InternalServerError') throw err;
      await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
    }
  }
}
