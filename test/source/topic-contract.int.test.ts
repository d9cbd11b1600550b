import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../src/command/journal.js';
import { defaultSchemasDir } from '../../src/events/catalog.js';
import { createTopicsAndWait } from '../../src/log/topics.js';
import { foldJournal, serdeFor, writeHistory } from '../helpers/pipeline.js';
import { config, dynamo, kafka, uniqueName } from '../helpers/stack.js';
import { bridgeFor, journalConnector } from './bridge-env.js';

/**
 * The topic contract, proven from outside TypeScript: python/stock_consumer.py
 * (confluent-kafka + fastavro, the latest schemas as reader schemas, no
 * upcasting) reads a topic the bridge relayed from a journal holding
 * old-version events and must get the stock figures of the fold the
 * projector computes.
 */
const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const ddb = dynamo();
const tables: string[] = [];
let python = '';

beforeAll(async () => {
  // Bootstraps .stack/python-venv (pinned wheels from PyPI) on a clean machine; seconds when present.
  try {
    const { stdout } = await run('bash', [path.join(root, 'python/bootstrap.sh')], { timeout: 240_000 });
    python = stdout.trim().split('\n').at(-1)!;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`the Python consumer example needs its venv and python/bootstrap.sh could not create it: ${e.stderr?.trim() || e.message}`);
  }
}, 300_000);

afterAll(async () => {
  for (const t of tables) await ddb.send(new DeleteTableCommand({ TableName: t })).catch(() => undefined);
  for (const t of tables) await ddb.send(new DeleteTableCommand({ TableName: `${t}-leases` })).catch(() => undefined);
});

interface PythonFold {
  stock: Record<string, { onHand: number; reserved: number }>;
  applied: number;
  duplicates: number;
  behindReader: number;
  writtenVersions: Record<string, number>;
  waitingForGaps: Record<string, number[]>;
}

async function pythonFold(topic: string, expect: number): Promise<PythonFold> {
  const args = [
    path.join(root, 'python/stock_consumer.py'),
    ...['--bootstrap', config.kafkaBrokers.join(','), '--registry', config.schemaRegistryUrl, '--topic', topic],
    ...['--schemas', defaultSchemasDir('inventory'), '--expect', String(expect), '--timeout', '60'],
  ];
  try {
    const { stdout } = await run(python, args, { timeout: 80_000, maxBuffer: 16 << 20 });
    return JSON.parse(stdout) as PythonFold;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`stock_consumer.py failed: ${e.message}\nstdout: ${e.stdout?.slice(0, 2000)}\nstderr: ${e.stderr?.slice(-4000)}`);
  }
}

/** The figures a consumer must reach: the journal's raw items folded by the independent oracle (test/helpers/oracle.ts). */
function expectedStock(records: JournalRecord[]) {
  const out: Record<string, { onHand: number; reserved: number }> = {};
  for (const [pid, s] of foldJournal(records)) out[pid] = { onHand: s.onHand, reserved: s.reserved };
  return out;
}

const oldVersions = (records: JournalRecord[]) => {
  const counts: Record<string, number> = {};
  for (const r of records) {
    if (r.schemaVersion < 2 && (r.eventType === 'StockShipped' || r.eventType === 'StockAdjusted')) {
      counts[`${r.eventType} v1`] = (counts[`${r.eventType} v1`] ?? 0) + 1;
    }
  }
  return counts;
};

describe('topic contract: a consumer with the latest schemas and a stock Avro library (Python)', () => {
  it('gets the read model’s stock from a topic the bridge relayed from old-version events (backfill and stream)', async () => {
    const { connector, journal, serde } = await journalConnector(tables);
    // History before the bridge's first start goes through its backfill, the rest through the stream.
    const records = await writeHistory(journal, 12, 8, 'PYA');
    const bridge = bridgeFor(connector, serde);
    await bridge.start();
    try {
      records.push(...(await writeHistory(journal, 12, 8, 'PYB')));
      const written = oldVersions(records);
      expect(written['StockShipped v1']).toBeGreaterThan(0);
      expect(written['StockAdjusted v1']).toBeGreaterThan(0);

      const fold = await pythonFold(connector.topic, records.length);
      expect(fold.applied).toBe(records.length);
      expect(fold.waitingForGaps).toEqual({});
      // Every record at the latest version of its type (schema_version header = the reader's version).
      expect(fold.behindReader).toBe(0);
      expect(fold.stock).toEqual(expectedStock(records));
      // The old-version events did reach it, as headers say, and were read right.
      expect(fold.writtenVersions).toMatchObject(written);
    } finally {
      await bridge.stop();
    }
  }, 150_000);

  it('control: the same events on a topic as written (no upcasting) fold to wrong figures with the same consumer', async () => {
    const { journal } = await journalConnector(tables);
    const records = await writeHistory(journal, 6, 8, 'PYC');
    const topic = uniqueName('as-written.events');
    const admin = kafka('contract-admin').admin();
    await admin.connect();
    const producer = kafka('contract-producer').producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      await createTopicsAndWait(admin, [{ topic, numPartitions: 3 }]);
      const serde = await serdeFor(topic);
      const messages = await Promise.all(
        records.map(async (r) => ({
          key: r.persistenceId,
          value: await serde.wrap(r.eventType, r.schemaVersion, r.payload),
          headers: { event_type: r.eventType, schema_version: String(r.schemaVersion), written_schema_version: String(r.schemaVersion), sequence_nr: String(r.sequenceNr) },
        })),
      );
      await producer.send({ topic, acks: -1, messages });
      const fold = await pythonFold(topic, records.length);
      expect(fold.behindReader).toBeGreaterThan(0);
      const expected = expectedStock(records);
      const wrong = Object.keys(expected).filter((pid) => fold.stock[pid]?.onHand !== expected[pid]!.onHand);
      // Exactly the inventories written at v1 (every third): shipments read as 0, adjustments lost.
      const legacy = [...new Set(records.filter((r) => r.schemaVersion === 1 && r.eventType === 'StockShipped').map((r) => r.persistenceId))];
      expect(legacy.length).toBeGreaterThan(0);
      expect(wrong.sort()).toEqual(legacy.sort());
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  }, 120_000);
});
