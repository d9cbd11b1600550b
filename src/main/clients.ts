import type { LogClient } from '../log/port.js';
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
import { createPool, type Pool, type PoolOptions } from '../db/db.js';

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
  kafka(): LogClient;
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

/**
 * How long after the server's own statement_timeout the client gives up on a
 * query: a server that runs cancels first (and keeps the connection); only one
 * that cannot answer at all (frozen, cut off) costs the connection.
 */
const CLIENT_TIMEOUT_GRACE_MS = 1_000;

/**
 * The pool of the roles and commands: every wait bounded (PG_CONNECT_TIMEOUT_MS,
 * PG_QUERY_TIMEOUT_MS), so that a frozen PostgreSQL makes a batch fail as
 * retriable and be retried instead of waiting forever.
 */
export function writerPoolOptions(config: Config, extra: Pick<PoolOptions, 'onConnectionError'> = {}): PoolOptions {
  return {
    max: config.pgPoolMax,
    applicationName: 'pipeline-writer',
    connectTimeoutMs: config.pgConnectTimeoutMs,
    statementTimeoutMs: config.pgQueryTimeoutMs,
    queryTimeoutMs: config.pgQueryTimeoutMs + CLIENT_TIMEOUT_GRACE_MS,
    ...extra,
  };
}

/**
 * The API's read-only pool: statements bounded by API_STATEMENT_TIMEOUT_MS on
 * the server and 1 s later on the client, connections within the request
 * budget (API_REQUEST_TIMEOUT_MS bounds the whole request besides).
 */
export function readerPoolOptions(config: Config, extra: Pick<PoolOptions, 'onConnectionError'> = {}): PoolOptions {
  return {
    max: config.pgPoolMax,
    applicationName: 'pipeline-api',
    connectTimeoutMs: Math.min(config.pgConnectTimeoutMs, config.apiRequestTimeoutMs),
    statementTimeoutMs: config.apiStatementTimeoutMs,
    queryTimeoutMs: config.apiStatementTimeoutMs + CLIENT_TIMEOUT_GRACE_MS,
    ...extra,
  };
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
    requestTimeoutMs: config.dynamodbRequestTimeoutMs,
  };
  const connectionLost = (err: Error) => logger.warn({ err: err.message }, 'PostgreSQL connection lost; the next query reconnects');
  const metrics = new Registry();
  clientRetriesCounter(metrics); // exported (at zero) before any client exists
  const clients: Clients = {
    config,
    logger,
    metrics,
    kafka: () => once('kafka', () => createKafka(kafkaSettingsOf(config), logger, '', { registry: metrics })),
    ddb: () => once('ddb', () => createDynamo(dynamo)),
    streams: () => once('streams', () => createDynamoStreams({ ...dynamo, endpoint: config.dynamodbStreamsEndpoint || config.dynamodbEndpoint })),
    pool: () => once('pool', () => createPool(config.databaseUrl, writerPoolOptions(config, { onConnectionError: connectionLost }))),
    readerPool: () => once('readerPool', () => createPool(config.apiDatabaseUrl, readerPoolOptions(config, { onConnectionError: connectionLost }))),
    catalog: () => once('catalog', () => loadTopicCatalog('inventory')),
    ladder: () => once('ladder', () => createVersionLadder(clients.catalog(), inventoryUpcasters)),
    schemaStore: () =>
      once('store', () =>
        createSchemaStore({
          url: config.schemaRegistryUrl,
          username: config.schemaRegistryUsername,
          password: config.schemaRegistryPassword,
          timeoutMs: config.schemaRegistryTimeoutMs,
        }),
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
