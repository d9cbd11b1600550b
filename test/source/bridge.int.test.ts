import {
  CreateTableCommand,
  DeleteTableCommand,
  PutItemCommand,
  ScanCommand,
  UpdateTableCommand,
  waitUntilTableExists,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { createJournal, journalTableInput, type Journal } from '../../src/command/journal.js';
import { partitionForKey } from '../../src/log/partitioner.js';
import { SINK_CLIENTS } from '../helpers/sink-clients.js';
import { dynamo, eventually, kafka } from '../helpers/stack.js';
import { appendReceived, bridgeFor, catalog, journalConnector, positions, prepareTopics, readTopic, testConnector } from './bridge-env.js';

const ddb = dynamo();
const tables: string[] = [];
afterAll(async () => {
  for (const t of tables) await ddb.send(new DeleteTableCommand({ TableName: t })).catch(() => undefined);
  for (const t of tables) await ddb.send(new DeleteTableCommand({ TableName: `${t}-leases` })).catch(() => undefined);
});

async function appendMany(journal: Journal, ids: string[], from: number, count: number) {
  for (let seq = from; seq < from + count; seq++) {
    // Interleave aggregates so the stream mixes them, as real traffic does.
    await Promise.all(ids.map((id) => appendReceived(journal, id, seq)));
  }
}

function expectGapless(seen: Map<string, number[]>, ids: string[], n: number) {
  for (const id of ids) expect(seen.get(id) ?? []).toEqual(Array.from({ length: n }, (_, i) => i + 1));
}

describe('CDC bridge against DynamoDB Local, Kafka and the registry', () => {
  it('relays the journal in per-persistence-id order to the murmur2 partition; a malformed item is dead-lettered and the stream continues', async () => {
    const { connector, journal, serde } = await journalConnector(tables);
    const metrics = new Registry();
    const bridge = bridgeFor(connector, serde, { metrics });
    await bridge.start();
    try {
      const ids = Array.from({ length: 4 }, (_, i) => `inventory-ORD-${i}`);
      await appendMany(journal, ids, 1, 8);
      // Corrupt Avro in the middle of the stream.
      await ddb.send(
        new PutItemCommand({
          TableName: connector.table,
          Item: {
            pkey: { S: 'inventory-BROKEN' },
            sequence_nr: { N: '1' },
            event_type: { S: 'StockReceived' },
            schema_version: { N: '2' },
            payload: { B: Buffer.from('not avro') },
            written_at: { N: String(Date.now()) },
          },
        }),
      );
      await appendMany(journal, ids, 9, 8);

      const messages = await readTopic(connector.topic, (m) => m.length >= 64);
      expect(messages).toHaveLength(64);
      expectGapless(positions(messages), ids, 16);
      for (const m of messages) {
        expect(m.partition).toBe(partitionForKey(m.key, connector.partitions));
        expect(m.headers.persistence_id).toBe(m.key);
        expect(Object.keys(m.headers).sort()).toEqual(
          ['causation_id', 'cdc_relayed_at', 'correlation_id', 'event_type', 'persistence_id', 'schema_version', 'sequence_nr', 'shard_id', 'source_written_at', 'stream_sequence_number', 'written_schema_version'].sort(),
        );
      }
      const first = await serde.decode(messages[0]!.value);
      expect(first.eventType).toBe('StockReceived');

      const dlq = await readTopic(connector.dlqTopic, (m) => m.length >= 1);
      expect(dlq).toHaveLength(1);
      expect(dlq[0]!.key).toBe('inventory-BROKEN');
      expect(dlq[0]!.headers).toMatchObject({ error_code: 'CORRUPT_PAYLOAD', table: connector.table });
      expect(dlq[0]!.headers.stream_sequence_number).toMatch(/^\d+$/);

      const text = await metrics.metrics();
      expect(text).toMatch(/cdc_bridge_records_relayed_total\{table="[^"]+",shard="[^"]+"\} 64/);
      expect(text).toMatch(/cdc_bridge_records_dead_lettered_total\{[^}]*error_code="CORRUPT_PAYLOAD"\} 1/);
      expect(bridge.status().leasesHeld).toHaveLength(1);
    } finally {
      await bridge.stop();
    }
    expect(bridge.status().state).toBe('stopped');
  });

  it('seed 004 (aggregate_id/version, JSON data) and seed 002 (pk/sk/version, JSON data, MODIFY) arrive as Avro events', async () => {
    const s4 = testConnector('seed004-events.json');
    const s2 = testConnector('seed002-events.json');
    tables.push(s4.table, s2.table);
    const create = (table: string, keys: [string, 'S' | 'N'][]) =>
      ddb.send(
        new CreateTableCommand({
          TableName: table,
          AttributeDefinitions: keys.map(([n, t]) => ({ AttributeName: n, AttributeType: t })),
          KeySchema: keys.map(([n], i) => ({ AttributeName: n, KeyType: i === 0 ? 'HASH' : 'RANGE' })),
          BillingMode: 'PAY_PER_REQUEST',
          StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
        }),
      );
    await create(s4.table, [['aggregate_id', 'S'], ['version', 'N']]);
    await create(s2.table, [['pk', 'S'], ['sk', 'S']]);
    await waitUntilTableExists({ client: ddb, maxWaitTime: 30 }, { TableName: s4.table });
    await waitUntilTableExists({ client: ddb, maxWaitTime: 30 }, { TableName: s2.table });
    // One registry sync at a time: the registry client's retries of a slow register answer 409 otherwise.
    const serde4 = await prepareTopics(s4);
    const serde2 = await prepareTopics(s2);
    const b4 = bridgeFor(s4, serde4);
    const b2 = bridgeFor(s2, serde2);
    await Promise.all([b4.start(), b2.start()]);
    try {
      const put = (table: string, Item: Record<string, AttributeValue>) => ddb.send(new PutItemCommand({ TableName: table, Item }));
      for (let v = 1; v <= 3; v++) {
        await put(s4.table, {
          aggregate_id: { S: 'inventory-S4' },
          version: { N: String(v) },
          aggregate_type: { S: 'Inventory' },
          event_type: { S: 'StockReceived' },
          data: { M: { quantity: { N: String(v) }, lotNumber: { S: `L${v}` } } },
          created_at: { S: new Date().toISOString() },
          gsi1pk: { S: 'EVENTS' },
        });
        // seed 002 overwrites the entity's item under an optimistic lock: v1 INSERT, v2.. MODIFY.
        await put(s2.table, {
          pk: { S: 'TENANT001#INVENTORY' },
          sk: { S: 'INVENTORY#S2' },
          version: { N: String(v) },
          type: { S: 'StockReserved' },
          data: { S: JSON.stringify({ quantity: v, orderId: `O-${v}`, customerId: 'C-1' }) },
          createdAt: { S: new Date().toISOString() },
          createdBy: { S: 'user-123' },
        });
      }
      const m4 = await readTopic(s4.topic, (m) => m.length >= 3);
      const m2 = await readTopic(s2.topic, (m) => m.length >= 3);
      expect(m4.map((m) => m.headers.sequence_nr)).toEqual(['1', '2', '3']);
      expect(m2.map((m) => m.headers.sequence_nr)).toEqual(['1', '2', '3']);
      const e4 = await serde4.decode(m4[2]!.value);
      expect(e4.event).toMatchObject({ type: 'StockReceived', data: { quantity: 3, lotNumber: 'L3', supplierId: null, metadata: { persistenceId: 'inventory-S4', sequenceNr: 3 } } });
      expect(e4.writerVersion).toBe(2);
      const e2 = await serde2.decode(m2[1]!.value);
      expect(e2.event).toMatchObject({ type: 'StockReserved', data: { quantity: 2, orderId: 'O-2', metadata: { persistenceId: 'TENANT001#INVENTORY#INVENTORY#S2', sequenceNr: 2 } } });
      expect(m2[0]!.key).toBe('TENANT001#INVENTORY#INVENTORY#S2');
    } finally {
      await Promise.all([b4.stop(), b2.stop()]);
    }
  });

  it('backfills a table that has history from before its stream, then streams: every event once, none twice across the seam', async () => {
    const connector = testConnector('journal.json');
    tables.push(connector.table);
    await ddb.send(new CreateTableCommand(journalTableInput(connector.table, { stream: false, writeTimeIndex: false })));
    await waitUntilTableExists({ client: ddb, maxWaitTime: 30 }, { TableName: connector.table });
    const journal = createJournal({ ddb, table: connector.table, catalog });
    const ids = Array.from({ length: 4 }, (_, i) => `inventory-OLD-${i}`);
    await appendMany(journal, ids, 1, 12); // history the stream never saw
    await new Promise((r) => setTimeout(r, 1200));
    await ddb.send(new UpdateTableCommand({ TableName: connector.table, StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' } }));
    await appendMany(journal, ids, 13, 4); // in the stream, before the bridge starts
    const serde = await prepareTopics(connector);
    const bridge = bridgeFor(connector, serde);
    await bridge.start();
    try {
      expect(bridge.status().backfill).toMatchObject({ runs: 1, items: 64 });
      await appendMany(journal, ids, 17, 4); // while streaming
      const messages = await readTopic(connector.topic, (m) => {
        const seen = positions(m);
        return ids.every((id) => new Set(seen.get(id)).size === 20);
      });
      // The scan relays up to where the stream resumes (plus the skew allowance) and marks what the stream
      // holds too (13..16 here) in the seam: the stream skips those, so each event is in the topic once, in order.
      expectGapless(positions(messages), ids, 20);
      expect(messages).toHaveLength(80);
      await eventually(async () => (bridge.status().shards.length === 1 ? true : undefined), 10_000);
    } finally {
      await bridge.stop();
    }
    // A restart does not backfill again: the marker is in the checkpoint topic.
    const again = bridgeFor(connector, serde);
    await again.start();
    expect(again.status().backfill.runs).toBe(0);
    await again.stop();
  });
});

// The exactly-once cases run on every client of the bridge's producer (BRIDGE_KAFKA_CLIENT).
describe.each(SINK_CLIENTS)('CDC bridge exactly-once with its producer on %s', (sinkClient) => {
  it('stop() lets the in-flight batch finish and releases the lease; a restart continues exactly once', async ({ annotate }) => {
    // A lease far longer than the test waits: another worker can only get it because stop() released it.
    const { connector, journal, serde } = await journalConnector(tables, { leases: { enabled: true, durationMs: 300_000, renewIntervalMs: 1000 } });
    const ids = Array.from({ length: 4 }, (_, i) => `inventory-STOP-${i}`);
    const first = bridgeFor(connector, serde, { workerId: 'stopper-1', sinkClient });
    await first.start();
    const writing = appendMany(journal, ids, 1, 15);
    await eventually(async () => (first.status().shards.some((s) => s.relayed > 0) ? true : undefined), 20_000, 50);
    await first.stop();
    const leases = await ddb.send(new ScanCommand({ TableName: connector.leases.table, ConsistentRead: true }));
    expect(leases.Items?.[0]?.leaseOwner).toBeUndefined();
    await writing;
    // Another worker id: it takes the released lease at once instead of waiting for expiry.
    const second = bridgeFor(connector, serde, { workerId: 'stopper-2', sinkClient });
    const t0 = Date.now();
    await second.start();
    try {
      // Released, not expired: taken long before the lease could expire (generous bound, a fifth of the duration).
      await eventually(async () => (second.status().leasesHeld.length === 1 ? true : undefined), 60_000, 50);
      await annotate(`released lease taken ${Date.now() - t0} ms after the second worker's start (lease duration ${connector.leases.durationMs} ms)`);
      const messages = await readTopic(connector.topic, (m) => m.length >= 60);
      expectGapless(positions(messages), ids, 15);
    } finally {
      await second.stop();
    }
  });

  it('a producer fenced by an intruder with its transactional id re-initialises, re-reads the checkpoint and continues exactly once', async () => {
    const { connector, journal, serde } = await journalConnector(tables, { leases: { enabled: false } });
    const metrics = new Registry();
    const bridge = bridgeFor(connector, serde, { metrics, sinkClient });
    await bridge.start();
    try {
      const ids = Array.from({ length: 4 }, (_, i) => `inventory-FENCE-${i}`);
      await appendMany(journal, ids, 1, 5);
      const shardId = await eventually(async () => bridge.status().shards.find((s) => s.relayed > 0)?.shardId, 20_000, 50);
      // Same transactional id as the bridge's shard producer: InitProducerId bumps the epoch and fences it.
      const intruder = kafka('intruder').producer({ transactionalId: `cdc-bridge.${connector.table}.${shardId}`, idempotent: true, maxInFlightRequests: 1 });
      await intruder.connect();
      // kafkajs initialises the transactional id (and so fences) at the first transaction.
      await (await intruder.transaction()).abort();
      await intruder.disconnect();
      await appendMany(journal, ids, 6, 10);
      const messages = await readTopic(connector.topic, (m) => m.length >= 60);
      expect(messages).toHaveLength(60);
      expectGapless(positions(messages), ids, 15);
      expect(await metrics.getSingleMetricAsString('cdc_bridge_producer_resets_total')).toMatch(/cdc_bridge_producer_resets_total\{[^}]*\} [1-9]/);
    } finally {
      await bridge.stop();
    }
  });
});
