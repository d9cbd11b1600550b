import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { DeleteTableCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { createJournal } from '../../src/command/journal.js';
import { loadConfig } from '../../src/config/config.js';
import { createClients } from '../../src/main/clients.js';
import { startRoles, type RunningPipeline } from '../../src/main/run.js';
import { dynamo, eventually, testLogger } from '../helpers/stack.js';
import {
  appendReceived,
  catalog,
  connectorFolderScope,
  createSeed004Table,
  positions,
  prepareTopics,
  readTopic,
  testConnector,
  type ReadMessage,
} from './bridge-env.js';

/**
 * One bridge process (startRoles, CONNECTOR_FILE = a folder) relaying three
 * connectors: the journal layout, the seed-004 layout, and one whose table
 * does not exist yet. Each has its own table, topic, leases and checkpoints.
 */

const ddb = dynamo();
const { dir, tables, remove } = connectorFolderScope('connectors');
let running: RunningPipeline | undefined;
afterAll(async () => {
  await running?.stop();
  await remove();
});

const put = (table: string, Item: Record<string, AttributeValue>) => ddb.send(new PutItemCommand({ TableName: table, Item }));
const seed004Item = (id: string, v: number, eventType = 'StockReceived') => ({
  aggregate_id: { S: id },
  version: { N: String(v) },
  event_type: { S: eventType },
  data: { M: { quantity: { N: String(v) }, lotNumber: { S: `L${v}` } } },
  created_at: { S: new Date().toISOString() },
});

/** The topic holds `n` events of `id` (other keys, e.g. canary heartbeats, do not count). */
const has = (id: string, n: number) => (m: ReadMessage[]) => (positions(m).get(id)?.length ?? 0) >= n;

async function metricsText(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

describe('several connectors in one bridge process', () => {
  it('relays the journal and seed-004 tables into their topics; a missing, a deleted and a mis-mapped table stop only their own connector', async () => {
    const fast = { shards: { rediscoveryIntervalMs: 1000 }, leases: { enabled: true, durationMs: 4000, renewIntervalMs: 1000 } };
    const journalC = testConnector('journal.json', { ...fast, name: 'journal-a' });
    const s4 = testConnector('seed004-events.json', { ...fast, name: 'seed004-b' });
    const late = testConnector('journal.json', { ...fast, name: 'journal-c' });
    tables.push(journalC.table, s4.table, late.table);
    const journal = createJournal({ ddb, table: journalC.table, catalog });
    await journal.ensureTable();
    await createSeed004Table(s4.table);
    for (const c of [journalC, s4, late]) await prepareTopics(c);
    writeFileSync(path.join(dir, 'a-journal.json'), JSON.stringify(journalC));
    writeFileSync(path.join(dir, 'b-seed004.json'), JSON.stringify(s4));
    writeFileSync(path.join(dir, 'c-late.json'), JSON.stringify(late));

    const config = loadConfig({ ...process.env, CONNECTOR_FILE: dir, METRICS_PORT: '0', PROMETHEUS_TARGETS_DIR: '', WORKER_ID: 'group-w1', CANARY_INTERVAL_MS: '0' });
    running = await startRoles(createClients(config, testLogger), ['bridge']);
    const group = running.bridge!;
    expect(group.connectors().map((c) => [c.connector, c.bridge !== undefined])).toEqual([
      ['journal-a', true],
      ['seed004-b', true],
      ['journal-c', false],
    ]);
    expect(group.readiness().reasons.join('\n')).toContain(`connector journal-c (table ${late.table}) not started`);

    // Both running connectors relay; a record seed-004 cannot map goes to its own DLQ.
    for (let seq = 1; seq <= 5; seq++) await appendReceived(journal, 'inventory-GA-1', seq);
    for (let v = 1; v <= 4; v++) await put(s4.table, seed004Item('inventory-GB-1', v));
    await put(s4.table, seed004Item('inventory-GB-1', 5, 'NoSuchEvent'));
    const mj = await readTopic(journalC.topic, has('inventory-GA-1', 5));
    expect(positions(mj).get('inventory-GA-1')).toEqual([1, 2, 3, 4, 5]);
    const m4 = await readTopic(s4.topic, has('inventory-GB-1', 4));
    expect(positions(m4).get('inventory-GB-1')).toEqual([1, 2, 3, 4]);
    const dlq = await readTopic(s4.dlqTopic, (m) => m.length >= 1);
    expect(dlq[0]!.headers.table).toBe(s4.table);

    // The late connector's table appears: the group's retry starts it.
    const lateJournal = createJournal({ ddb, table: late.table, catalog });
    await lateJournal.ensureTable();
    await eventually(async () => (group.connectors()[2]!.bridge ? true : undefined), 60_000, 500);
    for (let seq = 1; seq <= 3; seq++) await appendReceived(lateJournal, 'inventory-GC-1', seq);
    const mc = await readTopic(late.topic, has('inventory-GC-1', 3));
    expect(positions(mc).get('inventory-GC-1')).toEqual([1, 2, 3]);

    // seed-004's table is deleted: that connector reports it, the journal goes on.
    await ddb.send(new DeleteTableCommand({ TableName: s4.table }));
    for (let seq = 6; seq <= 8; seq++) await appendReceived(journal, 'inventory-GA-1', seq);
    const mj2 = await readTopic(journalC.topic, has('inventory-GA-1', 8));
    expect(positions(mj2).get('inventory-GA-1')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // (DynamoDB keeps a deleted table's stream readable, so seed-004's connector may or may not report a fault; no other connector does.)
    expect(group.readiness().reasons.filter((x) => !x.startsWith('connector seed004-b:'))).toEqual([]);
    // Metrics carry each connector's table.
    const text = await metricsText(running.metricsPort);
    for (const t of [journalC.table, s4.table, late.table]) expect(text).toMatch(new RegExp(`cdc_bridge_records_relayed_total\\{[^}]*table="${t}"`));
    await running.stop();
    running = undefined;
  });
});
