import { DeleteTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import type { Journal } from '../../src/command/journal.js';
import { createBridge, type Bridge } from '../../src/source/bridge.js';
import { createDynamo, createDynamoStreams } from '../../src/source/dynamodb.js';
import { config, dynamo, dynamoSettings, eventually, uniqueName } from '../helpers/stack.js';
import { appendReceived, catalog, journalConnector, positions, readTopic } from './bridge-env.js';
import { schemaStore } from '../helpers/schemas.js';
import { switchableKafka, tcpProxy } from './outage-switches.js';

// The bridge's liveness under dependency outages, with exactly-once kept:
// DynamoDB (streams and leases) and Kafka go away for longer than the lease
// duration, through switches on this bridge's own connections (the shared
// stack is never restarted). Nothing may escape as an unhandled rejection,
// no line may be logged at ERROR, and the bridge must resume by itself.
const ddb = dynamo();
const tables: string[] = [];
afterAll(async () => {
  for (const t of tables) await ddb.send(new DeleteTableCommand({ TableName: t })).catch(() => undefined);
  for (const t of tables) await ddb.send(new DeleteTableCommand({ TableName: `${t}-leases` })).catch(() => undefined);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function append(journal: Journal, ids: string[], from: number, to: number) {
  for (let seq = from; seq <= to; seq++) await Promise.all(ids.map((id) => appendReceived(journal, id, seq)));
}

function relayed(bridge: Bridge): number {
  return bridge.status().shards.reduce((n, s) => n + s.relayed, 0);
}

describe('CDC bridge under dependency outages', () => {
  it('rides out a DynamoDB outage and a Kafka outage longer than the lease: not ready meanwhile, then every event exactly once', async () => {
    const escaped: unknown[] = [];
    const onEscape = (err: unknown) => escaped.push(err);
    process.on('unhandledRejection', onEscape);
    const lines: { level: number; msg: string; shardId?: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });

    const { connector, journal, serde } = await journalConnector(tables);
    const target = new URL(config.dynamodbEndpoint);
    const ddbProxy = await tcpProxy({ host: target.hostname, port: Number(target.port) });
    const endpoint = `http://127.0.0.1:${ddbProxy.port}`;
    const broker = switchableKafka({ brokers: config.kafkaBrokers, clientId: uniqueName('outage') });
    const registry = new Registry();
    const bridge = createBridge({
      connector,
      kafka: broker.kafka,
      ddb: createDynamo({ ...dynamoSettings(), endpoint }),
      streams: createDynamoStreams({ ...dynamoSettings(), endpoint }),
      serde,
      schemaStore: schemaStore(),
      logger,
      metrics: registry,
      catalog,
      workerId: uniqueName('outage-worker'),
    });
    const ids = ['inventory-OUT-A', 'inventory-OUT-B'];
    await bridge.start();
    try {
      await append(journal, ids, 1, 5);
      await eventually(async () => (relayed(bridge) >= 10 ? true : undefined), 60_000);

      // DynamoDB gone (the lease duration is 4 s): writes go on meanwhile, straight to the table.
      ddbProxy.cut();
      await append(journal, ids, 6, 10);
      await eventually(async () => (bridge.readiness().ready ? undefined : true), 30_000);
      await sleep(6_000);
      await ddbProxy.restore();
      await eventually(async () => (bridge.readiness().ready ? true : undefined), 90_000, 500);

      // Kafka gone: every connection of the bridge's client reset and refused.
      broker.cut();
      await append(journal, ids, 11, 15);
      await sleep(8_000);
      await broker.restore();

      const messages = await readTopic(connector.topic, (m) => m.length >= 30, { timeoutMs: 180_000 });
      // Exactly once: 15 events per id, in order, none twice.
      for (const id of ids) expect(positions(messages).get(id)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
      expect(messages).toHaveLength(30);
      await eventually(async () => (bridge.readiness().ready ? true : undefined), 60_000, 500);
      expect(bridge.status().shards.map((s) => s.state)).not.toContain('failed');

      // Both outages were met (and retried), not slept through.
      const faults = (await registry.getSingleMetric('cdc_bridge_transient_faults_total')!.get()).values.filter((v) => v.value > 0);
      const stages = new Set(faults.map((v) => String(v.labels.stage)));
      expect(['get-records', 'iterator', 'round'].some((st) => stages.has(st)), [...stages].join()).toBe(true);
      expect(['commit', 'reset-sink', 'open-sink', 'checkpoint'].some((st) => stages.has(st)), [...stages].join()).toBe(true);
      expect(lines.filter((l) => l.level >= 50)).toEqual([]);
      expect(escaped).toEqual([]);
    } finally {
      await bridge.stop();
      await ddbProxy.close();
      process.off('unhandledRejection', onEscape);
    }
  }, 420_000);

  it('a record whose mapping hits a programming error stops its shard loudly: not retried, not ready, nothing after it relayed', async () => {
    const lines: { level: number; msg: string; shardId?: string; sequenceNumber?: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });
    const { connector, journal, serde } = await journalConnector(tables);
    let calls = 0;
    // A serde with a bug that only one record's content reaches (the journal layout's Avro payloads are wrapped).
    const marker = Buffer.from('reaches-the-bug');
    const buggy: typeof serde = {
      ...serde,
      // The bridge maps journal payloads through wrapLatest (it relays every event at its latest version).
      async wrapLatest(eventType, version, avroBinary) {
        if (avroBinary.equals(marker)) {
          calls++;
          throw new TypeError("Cannot read properties of undefined (reading 'lotNumber')");
        }
        return serde.wrapLatest(eventType, version, avroBinary);
      },
    };
    const registry = new Registry();
    const bridge = createBridge({
      connector,
      kafka: switchableKafka({ brokers: config.kafkaBrokers, clientId: uniqueName('bug') }).kafka,
      ddb,
      streams: createDynamoStreams(dynamoSettings()),
      serde: buggy,
      schemaStore: schemaStore(),
      logger,
      metrics: registry,
      catalog,
      workerId: uniqueName('bug-worker'),
    });
    await bridge.start();
    try {
      await append(journal, ['inventory-OK'], 1, 3);
      await eventually(async () => (relayed(bridge) >= 3 ? true : undefined), 60_000);
      await ddb.send(
        new PutItemCommand({
          TableName: connector.table,
          Item: {
            pkey: { S: 'inventory-BUG' },
            sequence_nr: { N: '1' },
            event_type: { S: 'StockReceived' },
            schema_version: { N: '2' },
            payload: { B: marker },
            written_at: { N: String(Date.now()) },
          },
        }),
      );
      await append(journal, ['inventory-OK'], 4, 6);
      const failed = await eventually(async () => bridge.status().shards.find((s) => s.state === 'failed'), 60_000);
      expect(failed.relayed).toBe(3);
      expect(bridge.readiness()).toMatchObject({ ready: false });
      expect(bridge.readiness().reasons[0]).toMatch(/^shard .* failed after /);
      await sleep(3_000);
      // Never retried, not restarted by later rounds.
      expect(calls).toBe(1);
      expect(bridge.status().shards.filter((s) => s.state === 'failed')).toHaveLength(1);
      const errors = lines.filter((l) => l.level >= 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.msg).toContain('stopped on a programming error at sequence number');
      const messages = await readTopic(connector.topic, (m) => m.length >= 3);
      expect(positions(messages).get('inventory-OK')).toEqual([1, 2, 3]);
    } finally {
      await bridge.stop();
    }
  }, 240_000);
});
