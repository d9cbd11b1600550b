import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand, ScanCommand, UpdateTableCommand, waitUntilTableExists, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { createJournal, journalTableInput, type Journal } from '../../src/command/journal.js';
import { createCheckpointReader } from '../../src/log/checkpoints.js';
import { loadConnector } from '../../src/source/connector.js';
import { spawnCli, writeConnector, type CliProcess } from '../helpers/process.js';
import { dynamo, eventually, kafka, testLogger, uniqueName } from '../helpers/stack.js';
import { bridgeFor, catalog, expectEachOnce, prepareTopics, readTopic, testConnector } from './bridge-env.js';
import { readAll, sleep, startWriter } from './harness/split-env.js';

/**
 * The seams of a first-start backfill (a table whose stream was enabled
 * late): the scan relays what the stream never held, the stream the rest,
 * and an independent read_committed read of the topic finds every journal
 * event once — with writes going on throughout, and with the backfilling
 * process killed (kill -9, the real CLI) twice and started again.
 */

const ddb = dynamo();
const tables: string[] = [];
const processes: CliProcess[] = [];
afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill9()));
  for (const t of tables) {
    await ddb.send(new DeleteTableCommand({ TableName: t })).catch(() => undefined);
    await ddb.send(new DeleteTableCommand({ TableName: `${t}-leases` })).catch(() => undefined);
  }
});

/** A journal-layout table without a stream (the stream is enabled later, as a table adopting CDC late does). */
async function tableWithoutStream(table: string): Promise<Journal> {
  tables.push(table);
  await ddb.send(new CreateTableCommand(journalTableInput(table, { stream: false, writeTimeIndex: false })));
  await waitUntilTableExists({ client: ddb, maxWaitTime: 30 }, { TableName: table });
  return createJournal({ ddb, table, catalog });
}

/** `perId` StockReceived per id, written 100 at a time (one TransactWriteItems per call), before any stream exists. */
async function writeHistory(journal: Journal, ids: string[], perId: number): Promise<Map<string, number>> {
  const per = Math.max(1, Math.floor(100 / ids.length));
  for (let done = 0; done < perId; done += per) {
    const n = Math.min(per, perId - done);
    await journal.appendAll(
      ids.map((persistenceId) => ({
        persistenceId,
        expectedSequenceNr: done,
        events: Array.from({ length: n }, (_, i) => ({ type: 'StockReceived', data: { quantity: done + i + 1, lotNumber: `LOT-${done + i + 1}`, supplierId: null, expiryDate: null } })),
      })),
    );
  }
  return new Map(ids.map((id) => [id, perId]));
}

async function enableStream(table: string): Promise<void> {
  await ddb.send(new UpdateTableCommand({ TableName: table, StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' } }));
  await eventually(async () => ((await ddb.send(new DescribeTableCommand({ TableName: table }))).Table?.LatestStreamArn ? true : undefined), 30_000);
}


async function writtenAts(table: string): Promise<number[]> {
  const out: number[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await ddb.send(new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start, ProjectionExpression: 'written_at' }));
    for (const i of page.Items ?? []) out.push(Number(i.written_at!.N));
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}

describe('first-start backfill seams', () => {
  it('a stream enabled late (1,507 events before it, 507 after, writes going on): every event once, the scan relays what the stream never held plus the skew allowance', async ({ annotate }) => {
    const skewMs = 2_000;
    const connector = testConnector('journal.json', { gapRepair: { skewAllowanceMs: skewMs }, backfill: { onFirstStart: true, segments: 2, pageSize: 100 } });
    const journal = await tableWithoutStream(connector.table);
    const ids = Array.from({ length: 11 }, (_, i) => `inventory-LATE-${i}`);
    await writeHistory(journal, ids, 137);
    await sleep(2 * skewMs + 500);
    await enableStream(connector.table);
    const serde = await prepareTopics(connector);
    // 507 more: some before the bridge starts, the rest while it backfills and streams.
    const writer = startWriter(journal, ids.slice(0, 3), { after: 137, perId: 137 + 169, pauseMs: 5 });
    await eventually(async () => ((writer.counts.get(ids[0]!) ?? 0) >= 137 + 20 ? true : undefined), 60_000, 50);
    const bridge = bridgeFor(connector, serde);
    await bridge.start();
    try {
      await writer.done;
      const counts = new Map(ids.map((id, i) => [id, i < 3 ? 137 + 169 : 137]));
      const messages = await readAll(connector.topic, counts, 180_000);
      expectEachOnce(messages, counts);
      const b = bridge.status().backfill.last!;
      expect(b.to).toBeDefined();
      // The scan relayed the history and, of what the stream holds too, only items written within the skew
      // allowance of the stream's start (the plan's end is that start plus the allowance); it left the rest to the stream.
      const times = await writtenAts(connector.table);
      expect(b.relayed + b.leftToStream).toBe(b.items);
      expect(b.relayed).toBeGreaterThanOrEqual(1507);
      expect(b.relayed - 1507).toBeLessThanOrEqual(times.filter((t) => t > b.to! - 2 * skewMs && t <= b.to!).length);
      await annotate(`late stream: ${times.length} items, scan relayed ${b.relayed} (1,507 history + ${b.relayed - 1507} within the ${skewMs} ms skew allowance of the stream's start), left ${b.leftToStream} to the stream`);
    } finally {
      await bridge.stop();
    }
  });

  it('a backfill killed twice (kill -9 of the CLI) continues where it stopped: every event once, nothing scanned twice by the last run', async ({ annotate }) => {
    const table = uniqueName('bf-kill');
    const topic = uniqueName('bf-kill.events');
    const journal = await tableWithoutStream(table);
    const ids = Array.from({ length: 10 }, (_, i) => `inventory-BFK-${i}`);
    const counts = await writeHistory(journal, ids, 300);
    await enableStream(table);
    for (const id of ids) await journal.append({ persistenceId: id, expectedSequenceNr: 300, events: [{ type: 'StockReceived', data: { quantity: 1, lotNumber: 'L', supplierId: null, expiryDate: null } }] });
    for (const id of ids) counts.set(id, 301);
    const file = writeConnector(table, topic, { backfill: { onFirstStart: true, segments: 2, pageSize: 10 } });
    await prepareTopics(loadConnector(file));
    const env = { CONNECTOR_FILE: file, ROLES: 'bridge', CANARY_INTERVAL_MS: '0', LOG_LEVEL: 'info', LOG_FORMAT: 'json' };
    const checkpoints = createCheckpointReader({ kafka: kafka('bf-kill-cp'), topic: `${topic}.checkpoints`, logger: testLogger });
    const pagesDone = async () => {
      const all = await checkpoints.read(table);
      const progress = [0, 1].map((n) => all.get(`$backfill/${n}`)?.backfill);
      return { pages: progress.map((p) => p?.pages ?? 0), items: progress.reduce((a, p) => a + (p?.items ?? 0), 0), completed: all.get('$backfill')?.backfillCompletedAt !== undefined };
    };
    const stops: { pages: number[]; items: number; completed: boolean }[] = [];
    for (let kill = 0; kill < 2; kill++) {
      const before = (await pagesDone()).pages.reduce((a, b) => a + b, 0);
      const p = spawnCli(['run'], env);
      processes.push(p);
      // Killed once this run has committed a few pages of its own: mid-backfill, never before it began.
      await eventually(async () => ((await pagesDone()).pages.reduce((a, b) => a + b, 0) >= before + 4 ? true : undefined), 120_000, 100);
      await p.kill9();
      stops.push(await pagesDone());
    }
    const last = spawnCli(['run'], env);
    processes.push(last);
    const messages = await readTopic(topic, (m) => new Set(m.map((x) => `${x.key}#${x.headers.sequence_nr}`)).size >= 3010, { timeoutMs: 180_000 });
    await eventually(async () => ((await pagesDone()).completed ? true : undefined), 60_000, 200);
    await last.terminate();
    expectEachOnce(messages, counts);
    for (const s of stops) expect(s.completed, 'each kill landed before the backfill completed').toBe(false);
    const lines = last.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg?: string; resumed?: boolean; items?: number; pagesDone?: number[] });
    const resumed = lines.find((l) => l.msg === 'backfill resumed where the last run stopped');
    const complete = lines.find((l) => l.msg === 'backfill complete');
    expect(resumed?.pagesDone).toEqual(stops[1]!.pages);
    // The last run scanned only what the killed runs had not committed.
    expect(complete).toMatchObject({ resumed: true });
    expect(complete!.items).toBe(3010 - stops[1]!.items);
    await annotate(`backfill killed after ${stops.map((s) => s.pages.join('+')).join(' and ')} pages of 10; the last run scanned ${complete!.items} of 3,010 items`);
  });
});
