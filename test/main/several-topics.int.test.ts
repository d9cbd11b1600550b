import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { DescribeTableCommand, PutItemCommand, UpdateTableCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../src/command/journal.js';
import { generateMasterData, loadMasterData } from '../../src/command/master-data.js';
import { loadConfig } from '../../src/config/config.js';
import { checkIntegrity } from '../../src/consumers/integrity.js';
import { createSourceJournal } from '../../src/consumers/source-journal.js';
import { migrate } from '../../src/db/migrate.js';
import { createClients } from '../../src/main/clients.js';
import { consumerSources } from '../../src/main/consumer-role.js';
import { startRoles, type RunningPipeline } from '../../src/main/run.js';
import { loadConnectors } from '../../src/source/connector.js';
import { expectReadModelEqualsJournal, expectViewsEqualReadModel, waitForProjector } from '../helpers/assertions.js';
import { journalFor, serdeFor, writeHistory } from '../helpers/pipeline.js';
import { createTestDatabase, dynamo, eventually, testLogger, uniqueName, type TestDatabase } from '../helpers/stack.js';
import { connectorFolderScope, createSeed004Table, positions, prepareTopics, readTopic, testConnector } from '../source/bridge-env.js';

/**
 * One process runs bridge, projector and views over two connectors: the
 * journal layout (Avro payloads) and the seed-004 layout (JSON payloads,
 * `aggregate_id` / `version`), each relayed into its own topic. The consumer
 * groups read both topics into one read model and its views.
 *
 * The seed-004 table held part of its history before its stream was enabled
 * (as a table that adopts CDC late does): the bridge never sees those events,
 * so the projector meets a gap at the start of each of its ids and repairs it
 * from that table, read through the connector's own mapping.
 */

const ddb = dynamo();
const { dir, tables, remove } = connectorFolderScope('several-topics');
let running: RunningPipeline | undefined;
let db: TestDatabase | undefined;
afterAll(async () => {
  await running?.stop();
  await db?.drop();
  await remove();
});

/** A journal record as the seed-004 layout stores it: the event's fields as JSON, without the envelope the mapping rebuilds. */
async function seed004Item(topic: string, r: JournalRecord): Promise<Record<string, AttributeValue>> {
  const serde = await serdeFor(topic);
  const { metadata: _metadata, ...data } = serde.decodeRaw(r.eventType, r.schemaVersion, r.payload).data as unknown as Record<string, unknown>;
  return {
    aggregate_id: { S: r.persistenceId },
    version: { N: String(r.sequenceNr) },
    event_type: { S: r.eventType },
    data: { S: JSON.stringify(data) },
    created_at: { S: new Date(r.writtenAt).toISOString() },
  };
}

describe('consumer roles over several topics', () => {
  it('projects the journal and seed-004 topics into one read model, repairing gaps from the table each id lives in', async () => {
    const fast = { shards: { rediscoveryIntervalMs: 1000 }, leases: { enabled: true, durationMs: 4000, renewIntervalMs: 1000 } };
    const journalC = testConnector('journal.json', { ...fast, name: 'journal-a' });
    // No backfill: what was written before the stream existed reaches the consumers only through gap repair.
    const s4 = testConnector('seed004-events.json', { ...fast, name: 'seed004-b', backfill: { onFirstStart: false } });
    const scratch = uniqueName('scratch');
    tables.push(journalC.table, s4.table, scratch);
    db = await createTestDatabase('several_topics');
    await migrate(db.pool, 'migrations');
    await loadMasterData(db.pool, generateMasterData());

    // Journal table: written through the journal, relayed from its stream.
    const journalA = await journalFor(journalC.table);
    // Seed-004 table: the same kind of history, decided by the real aggregate in a scratch journal, stored in seed-004's layout.
    const fromScratch = await writeHistory(await journalFor(scratch), 4, 6, 'S4');
    await createSeed004Table(s4.table, { stream: false });
    const put = async (r: JournalRecord) => ddb.send(new PutItemCommand({ TableName: s4.table, Item: await seed004Item(s4.topic, r) }));
    // Before the stream exists: the first two events of every id.
    const early = fromScratch.filter((r) => r.sequenceNr <= 2);
    for (const r of early) await put(r);
    await ddb.send(new UpdateTableCommand({ TableName: s4.table, StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' } }));
    await eventually(async () => ((await ddb.send(new DescribeTableCommand({ TableName: s4.table }))).Table?.LatestStreamArn ? true : undefined), 30_000);
    await prepareTopics(journalC);
    await prepareTopics(s4);
    writeFileSync(path.join(dir, 'a-journal.json'), JSON.stringify(journalC));
    writeFileSync(path.join(dir, 'b-seed004.json'), JSON.stringify(s4));

    const config = loadConfig({
      ...process.env,
      CONNECTOR_FILE: dir,
      DATABASE_URL: db.url,
      GROUP_PREFIX: `${uniqueName('several')}.`,
      METRICS_PORT: '0',
      PROMETHEUS_TARGETS_DIR: '',
      WORKER_ID: uniqueName('several-w'),
    });
    const clients = createClients(config, testLogger);
    running = await startRoles(clients, ['bridge', 'projector', 'views']);
    expect(Object.keys(running.consumers)).toHaveLength(2);

    const fromJournal = await writeHistory(journalA, 4, 6, 'JA');
    const late = fromScratch.filter((r) => r.sequenceNr > 2);
    for (const r of late) await put(r);

    // The seed-004 topic holds only what the stream saw: every id starts at 3.
    const relayed = await readTopic(s4.topic, (m) => [...positions(m).values()].reduce((s, p) => s + p.length, 0) >= late.length);
    for (const seqs of positions(relayed).values()) expect(seqs[0]).toBe(3);

    const all = [...fromJournal, ...fromScratch];
    const marks = new Map<string, number>();
    for (const r of all) marks.set(r.persistenceId, Math.max(marks.get(r.persistenceId) ?? 0, r.sequenceNr));
    await waitForProjector(db.pool, marks, 120_000);
    // One movement per event of both tables, those the stream never carried included (repaired from the seed-004 table).
    // The seed-004 layout has no event or correlation id (the bridge derives them): stock, movements and details only.
    await expectReadModelEqualsJournal(db.pool, all, { ids: false });
    await expectViewsEqualReadModel(db.pool);

    // The integrity check reads both tables as one journal.
    const sources = consumerSources(clients, loadConnectors(dir));
    expect(sources.topics).toEqual([journalC.topic, s4.topic]);
    const report = await checkIntegrity({ journal: sources.journal, pool: db.pool });
    expect(report.findings).toEqual([]);
    expect(report.journalIds).toBeGreaterThanOrEqual(marks.size);

    await running.stop();
    running = undefined;
  });

  it('a table that cannot be read by persistence id finds nothing for gap repair and refuses an integrity scan', async () => {
    // Seed 002 keys an entity by pk + sk (joined, a version suffix stripped): no Query by the joined id exists.
    const s2 = testConnector('seed002-events.json');
    const clients = createClients(loadConfig({ ...process.env, METRICS_PORT: '0', PROMETHEUS_TARGETS_DIR: '' }), testLogger);
    const journal = createSourceJournal({ ddb, connector: s2, serde: await serdeFor(s2.topic), catalog: clients.catalog(), logger: testLogger });
    expect(await journal.load('inventory-X', { from: 1, to: 3 })).toEqual([]);
    await expect(journal.highWaterMarks()).rejects.toThrow(/cannot be read by id/);
    await clients.close();
  });
});
