import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConnectorConfig } from '../../src/source/connector.js';
import { dynamo, dynamoStreams, eventually } from '../helpers/stack.js';
import { journalConnector, positions } from './bridge-env.js';
import { spawnBridge, type BridgeProcess } from './bridge-process.js';
import { startSplitStreamsServer, type SplitStreamsServer } from './harness/split-streams-server.js';
import { leaseOwners, readAll, sleep, startWriter, streamArnOf } from './harness/split-env.js';

/**
 * Bridge processes (spawned, killed with SIGKILL) reading a stream whose
 * shards split, through the harness (DYNAMODB_STREAMS_ENDPOINT).
 */

const tables: string[] = [];
const servers: SplitStreamsServer[] = [];
const children: BridgeProcess[] = [];
afterAll(async () => {
  await Promise.all(children.map((c) => c.kill()));
  await Promise.all(servers.map((s) => s.close()));
  for (const t of tables) {
    await dynamo().send(new DeleteTableCommand({ TableName: t })).catch(() => undefined);
    await dynamo().send(new DeleteTableCommand({ TableName: `${t}-leases` })).catch(() => undefined);
  }
});

const fast = { shards: { rediscoveryIntervalMs: 1000 }, leases: { enabled: true, durationMs: 4000, renewIntervalMs: 1000 } };

async function setup(everyRecords: number) {
  const h = await startSplitStreamsServer({ real: dynamoStreams(), policy: { everyRecords, maxDepth: 3 }, describePageSize: 5 });
  servers.push(h);
  const { connector, journal } = await journalConnector(tables, fast);
  return { h, connector, journal, arn: await streamArnOf(connector.table) };
}

function run(h: SplitStreamsServer, connector: ConnectorConfig, workerId: string): BridgeProcess {
  const p = spawnBridge(connector, workerId, { DYNAMODB_STREAMS_ENDPOINT: h.endpoint });
  children.push(p);
  return p;
}

function expectEachOnceInOrder(messages: Awaited<ReturnType<typeof readAll>>, counts: Map<string, number>) {
  const seen = positions(messages);
  for (const [id, n] of counts) expect(seen.get(id), id).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  expect(messages).toHaveLength([...counts.values()].reduce((a, b) => a + b, 0));
}

describe('bridge processes over splitting shards (harness)', () => {
  it('repeated kill -9 while shards split through three generations: every event once, in per-key order', async () => {
    const { h, connector, journal, arn } = await setup(40);
    const ids = Array.from({ length: 12 }, (_, i) => `inventory-SK-${i}`);
    const writer = startWriter(journal, ids, { pauseMs: 50 });
    let readyKills = 0;
    for (let i = 0; i < 8; i++) {
      const p = run(h, connector, 'w1');
      const isReady = await Promise.race([p.ready.then(() => true), sleep(10_000).then(() => false)]);
      if (isReady) {
        readyKills++;
        await sleep(500 + Math.floor(Math.random() * 1500));
      }
      await p.kill('SIGKILL');
    }
    const counts = await writer.stop();
    const final = run(h, connector, 'w1');
    await final.ready;
    const messages = await readAll(connector.topic, counts, 120_000, await h.layout(arn)).catch((err: unknown) => {
      throw new Error(`${String(err)}\nfinal bridge said:\n${final.output().slice(-3000)}`);
    });
    await final.kill('SIGTERM');
    expectEachOnceInOrder(messages, counts);
    const layout = await h.layout(arn);
    expect(layout.generations()).toBe(3);
    expect(layout.openShards()).toHaveLength(8);
    expect(readyKills).toBeGreaterThanOrEqual(6);
  });

  it('two workers split eight open shards between them by lease; when one is killed the other takes its shards over', async () => {
    const { h, connector, journal, arn } = await setup(30);
    const a = run(h, connector, 'worker-a');
    const b = run(h, connector, 'worker-b');
    await Promise.all([a.ready, b.ready]);
    const ids = Array.from({ length: 16 }, (_, i) => `inventory-SW-${i}`);
    const writer = startWriter(journal, ids, { pauseMs: 100 });
    const layout = await h.layout(arn);
    await eventually(async () => (layout.openShards().length === 8 ? true : undefined), 90_000, 500);
    // Both workers hold some of the open shards' leases at once.
    const shared = await eventually(async () => {
      const owners = await leaseOwners(connector);
      const open = layout.openShards().map((s) => owners.get(s.shardId));
      return open.includes('worker-a') && open.includes('worker-b') && open.every(Boolean) ? open : undefined;
    }, 60_000, 500);
    expect(new Set(shared)).toEqual(new Set(['worker-a', 'worker-b']));
    await a.kill('SIGKILL');
    await eventually(async () => {
      const owners = await leaseOwners(connector);
      return layout.openShards().every((s) => owners.get(s.shardId) === 'worker-b') ? true : undefined;
    }, 60_000, 500);
    await sleep(1000);
    const counts = await writer.stop();
    const messages = await readAll(connector.topic, counts);
    expectEachOnceInOrder(messages, counts);
    await b.kill('SIGTERM');
  });
});
