import type { Kafka } from 'kafkajs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { Registry } from 'prom-client';
import type { Config } from '../config/config.js';
import { createJournal, type Journal } from '../command/journal.js';
import { loadTopicCatalog, type EventCatalog } from '../events/catalog.js';
import type { InventoryEvent } from '../events/generated/inventory.js';
import { createSchemaStore, type SchemaStore } from '../events/schema-store.js';
import { createEventSerde, type EventSerde } from '../events/serde.js';
import { createVersionLadder, type VersionLadder } from '../events/upcast.js';
import { inventoryUpcasters } from '../events/upcasters/index.js';
import { createKafka, kafkaSettingsOf } from '../log/kafka.js';
import { clientRetriesCounter } from '../log/kafka-log.js';
import type { Logger } from '../shared/logger.js';
import { createDynamo, createDynamoStreams } from '../source/dynamodb.js';
import { createPool, type Pool } from '../db/db.js';

/**
 * The composition root's clients: the only place real clients are built from
 * configuration. Built lazily, so a command that needs PostgreSQL alone does
 * not connect to Kafka; `close()` closes what was built.
 */
export interface Clients {
  config: Config;
  logger: Logger;
  /**
   * Metrics of the clients themselves (`pipeline_client_retries_total`:
   * errors a client library retried by itself), complete from the start:
   * register them into the process registry with
   * `Registry.merge([new Registry(), clients.metrics])` (see main/run.ts).
   */
  metrics: Registry;
  kafka(): Kafka;
  ddb(): DynamoDBClient;
  streams(): DynamoDBStreamsClient;
  pool(): Pool;
  readerPool(): Pool;
  catalog(): EventCatalog;
  ladder(): VersionLadder;
  schemaStore(): SchemaStore;
  serde(topic: string): EventSerde<InventoryEvent>;
  /** The same serde, untyped: what the bridge needs (it relays any event type of the catalog). */
  rawSerde(topic: string): EventSerde;
  journal(table: string): Journal;
  close(): Promise<void>;
}

export function createClients(config: Config, logger: Logger): Clients {
  const cache = new Map<string, unknown>();
  const once = <T>(key: string, make: () => T): T => {
    if (!cache.has(key)) cache.set(key, make());
    return cache.get(key) as T;
  };
  const dynamo = {
    endpoint: config.dynamodbEndpoint,
    region: config.awsRegion,
    accessKeyId: config.awsAccessKeyId,
    secretAccessKey: config.awsSecretAccessKey,
  };
  const metrics = new Registry();
  clientRetriesCounter(metrics); // exported (at zero) before any client exists
  const clients: Clients = {
    config,
    logger,
    metrics,
    kafka: () => once('kafka', () => createKafka(kafkaSettingsOf(config), logger, '', { registry: metrics })),
    ddb: () => once('ddb', () => createDynamo(dynamo)),
    streams: () => once('streams', () => createDynamoStreams({ ...dynamo, endpoint: config.dynamodbStreamsEndpoint || config.dynamodbEndpoint })),
    pool: () => once('pool', () => createPool(config.databaseUrl, { max: config.pgPoolMax, applicationName: 'pipeline-writer', onConnectionError: (err) => logger.warn({ err: err.message }, 'PostgreSQL connection lost; the next query reconnects') })),
    readerPool: () => once('readerPool', () => createPool(config.apiDatabaseUrl, { max: config.pgPoolMax, applicationName: 'pipeline-api', statementTimeoutMs: config.apiStatementTimeoutMs, onConnectionError: (err) => logger.warn({ err: err.message }, 'PostgreSQL connection lost; the next query reconnects') })),
    catalog: () => once('catalog', () => loadTopicCatalog('inventory')),
    ladder: () => once('ladder', () => createVersionLadder(clients.catalog(), inventoryUpcasters)),
    schemaStore: () =>
      once('store', () =>
        createSchemaStore({ url: config.schemaRegistryUrl, username: config.schemaRegistryUsername, password: config.schemaRegistryPassword }),
      ),
    serde: (topic) =>
      once(`serde:${topic}`, () =>
        createEventSerde<InventoryEvent>({ topic, catalog: clients.catalog(), store: clients.schemaStore(), upcasters: inventoryUpcasters }),
      ),
    rawSerde: (topic) =>
      once(`rawSerde:${topic}`, () =>
        createEventSerde({ topic, catalog: clients.catalog(), store: clients.schemaStore(), upcasters: inventoryUpcasters }),
      ),
    journal: (table) => once(`journal:${table}`, () => createJournal({ ddb: clients.ddb(), table, catalog: clients.catalog() })),
    async close() {
      const pools = ['pool', 'readerPool'].map((k) => cache.get(k) as Pool | undefined);
      await Promise.all(pools.map((p) => p?.end().catch(() => undefined)));
      (cache.get('ddb') as DynamoDBClient | undefined)?.destroy();
      (cache.get('streams') as DynamoDBStreamsClient | undefined)?.destroy();
    },
  };
  return clients;
}
