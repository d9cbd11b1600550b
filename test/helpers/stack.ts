import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config/config.js';
import { createKafka, kafkaSettingsOf } from '../../src/log/kafka.js';
import { createDynamo, createDynamoStreams } from '../../src/source/dynamodb.js';
import { silentLogger, type Logger } from '../../src/shared/logger.js';
import { createPool, type Pool } from '../../src/db/db.js';

/** Configuration of the local stack, as the pipeline itself would load it. */
export const config: Config = loadConfig();

/**
 * Marks every name made in this test file (each file runs in its own worker),
 * so test/helpers/cleanup.ts can drop the file's DynamoDB tables afterwards.
 */
export const FILE_TOKEN = `t${randomBytes(2).toString('hex')}`;

/** A name nobody else uses: tests run repeatedly against the same stack. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${FILE_TOKEN}${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export const testLogger: Logger = silentLogger();

export function kafka(suffix = 'test') {
  return createKafka(
    kafkaSettingsOf(config),
    testLogger,
    suffix,
  );
}

/**
 * A producer for a test's fixture records. Idempotent: a produce request that
 * fails for one partition is retried whole, and without idempotence the
 * partitions that had been appended get the batch twice (a lag test once saw
 * 200 records where it wrote 100). The broker drops the duplicates by sequence.
 */
export function fixtureProducer(k: ReturnType<typeof kafka>) {
  return k.producer({ idempotent: true, maxInFlightRequests: 1 });
}

/** Writes a test's fixture records (one send through a fixture producer, connected for it). */
export async function writeFixture(k: ReturnType<typeof kafka>, record: Parameters<ReturnType<typeof fixtureProducer>['send']>[0]): Promise<void> {
  const producer = fixtureProducer(k);
  await producer.connect();
  try {
    await producer.send(record);
  } finally {
    await producer.disconnect();
  }
}

export function dynamoSettings() {
  return {
    endpoint: config.dynamodbEndpoint,
    region: config.awsRegion,
    accessKeyId: config.awsAccessKeyId,
    secretAccessKey: config.awsSecretAccessKey,
  };
}
export const dynamo = () => createDynamo(dynamoSettings());
export const dynamoStreams = () => createDynamoStreams(dynamoSettings());

export interface TestDatabase {
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

/** A fresh PostgreSQL database per test file (or benchmark run), dropped afterwards; `max` connections in its pool. */
export async function createTestDatabase(prefix = 't', { max = 5 }: { max?: number } = {}): Promise<TestDatabase> {
  const name = uniqueName(prefix).replaceAll('-', '_');
  const admin = new URL(config.databaseUrl);
  admin.pathname = '/postgres';
  const c = new pg.Client({ connectionString: admin.toString() });
  await c.connect();
  await c.query(`create database "${name}"`);
  await c.end();
  const url = new URL(config.databaseUrl);
  url.pathname = `/${name}`;
  const pool = createPool(url.toString(), { max });
  return {
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      const d = new pg.Client({ connectionString: admin.toString() });
      await d.connect();
      await d.query(`drop database if exists "${name}" with (force)`);
      await d.end();
    },
  };
}

/** Polls `fn` until it returns a value that is not undefined, or throws after `timeoutMs`. */
export async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${lastErr ? `: ${String(lastErr)}` : ''}`);
}
