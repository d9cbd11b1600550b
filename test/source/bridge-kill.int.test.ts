import { DeleteTableCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import type { Journal } from '../../src/command/journal.js';
import type { ConnectorConfig } from '../../src/source/connector.js';
import { dynamo, eventually } from '../helpers/stack.js';
import { appendReceived, journalConnector, positions, readTopic, type ReadMessage } from './bridge-env.js';
import { spawnBridge, type BridgeProcess } from './bridge-process.js';

const ddb = dynamo();
const tables: string[] = [];
const children: BridgeProcess[] = [];
afterAll(async () => {
  await Promise.all(children.map((c) => c.kill()));
  for (const t of tables) {
    await ddb.send(new DeleteTableCommand({ TableName: t })).catch(() => undefined);
    await ddb.send(new DeleteTableCommand({ TableName: `${t}-leases` })).catch(() => undefined);
  }
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const between = (a: number, b: number) => a + Math.floor(Math.random() * (b - a));

/** Appends StockReceived events round-robin over `ids` until `stop()`; returns how many each id got. */
function startWriter(journal: Journal, ids: string[], pauseMs: number) {
  const counts = new Map(ids.map((id) => [id, 0]));
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      await Promise.all(
        ids.map(async (id) => {
          const seq = counts.get(id)! + 1;
          await appendReceived(journal, id, seq);
          counts.set(id, seq);
        }),
      );
      await sleep(pauseMs);
    }
  })();
  return {
    counts,
    async stop() {
      stopped = true;
      await done;
      return counts;
    },
  };
}

async function setup(delivery: ConnectorConfig['delivery']) {
  const { connector, journal } = await journalConnector(tables, { delivery });
  return { connector, journal };
}

function run(connector: ConnectorConfig, workerId: string): BridgeProcess {
  const p = spawnBridge(connector, workerId);
  children.push(p);
  return p;
}

async function killRepeatedly(connector: ConnectorConfig, kills: number): Promise<{ readyKills: number }> {
  let readyKills = 0;
  for (let i = 0; i < kills; i++) {
    const p = run(connector, 'w1');
    // Some kills land during start-up (producer init, checkpoint read), most while relaying.
    const isReady = await Promise.race([p.ready.then(() => true), sleep(8000).then(() => false)]);
    if (isReady) {
      readyKills++;
      await sleep(between(100, 1500));
    }
    await p.kill('SIGKILL');
  }
  return { readyKills };
}

async function drainAndCheck(connector: ConnectorConfig, counts: Map<string, number>) {
  const final = run(connector, 'w1');
  await final.ready;
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  let seenSoFar: ReadMessage[] = [];
  const messages = await readTopic(
    connector.topic,
    (m) => {
      seenSoFar = m;
      const seen = positions(m);
      return [...counts].every(([id, n]) => new Set(seen.get(id)).size === n);
    },
    { settleMs: 3000, timeoutMs: 90_000 },
  ).catch((err: unknown) => {
    const seen = positions(seenSoFar);
    const short = [...counts].map(([id, n]) => `${id}: ${new Set(seen.get(id)).size}/${n}`).join(', ');
    throw new Error(`${String(err)}\n${short}\nfinal bridge said:\n${final.output().slice(-3000)}`);
  });
  await final.kill('SIGTERM');
  return { messages, total };
}

describe('CDC bridge under kill -9', () => {
  it('exactly-once: ≥ 10 SIGKILLs during a load, a read_committed consumer sees every journal event exactly once, in order', async () => {
    const { connector, journal } = await setup('exactly-once');
    const ids = Array.from({ length: 8 }, (_, i) => `inventory-EO-${i}`);
    const writer = startWriter(journal, ids, 20);
    const { readyKills } = await killRepeatedly(connector, 12);
    const counts = await writer.stop();
    const { messages, total } = await drainAndCheck(connector, counts);
    expect(messages).toHaveLength(total);
    const seen = positions(messages);
    for (const [id, n] of counts) expect(seen.get(id)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    // The kills landed while relaying, under a real load (DynamoDB Local writes only tens of items/s here).
    expect(readyKills).toBeGreaterThanOrEqual(10);
    expect(total).toBeGreaterThan(100);
  });

  it('at-least-once: no event lost under SIGKILLs; after dropping repeats by sequence_nr each id is gapless', async () => {
    const { connector, journal } = await setup('at-least-once');
    const ids = Array.from({ length: 6 }, (_, i) => `inventory-AL-${i}`);
    const writer = startWriter(journal, ids, 20);
    await killRepeatedly(connector, 5);
    const counts = await writer.stop();
    const { messages, total } = await drainAndCheck(connector, counts);
    expect(messages.length).toBeGreaterThanOrEqual(total);
    for (const [id, n] of counts) {
      let last = 0;
      const applied: number[] = [];
      for (const seq of positions(messages).get(id) ?? []) {
        if (seq <= last) continue; // what a consumer does with a duplicate
        applied.push(seq);
        last = seq;
      }
      expect(applied).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    }
  });

  it('two workers share a table: the lease holder is killed, the other takes the shard over within the lease duration', async () => {
    const { connector, journal } = await setup('exactly-once');
    const ids = Array.from({ length: 4 }, (_, i) => `inventory-LS-${i}`);
    const a = run(connector, 'worker-a');
    await a.ready;
    const b = run(connector, 'worker-b');
    await b.ready;
    const writer = startWriter(journal, ids, 30);
    const ownerOf = async () => {
      const page = await ddb.send(new ScanCommand({ TableName: connector.leases.table, ConsistentRead: true }));
      return page.Items?.[0]?.leaseOwner?.S;
    };
    const holder = await eventually(ownerOf, 20_000);
    await sleep(1500);
    const [victim, survivor] = holder === 'worker-a' ? [a, 'worker-b'] : [b, 'worker-a'];
    const killedAt = Date.now();
    await victim.kill('SIGKILL');
    await eventually(async () => ((await ownerOf()) === survivor ? true : undefined), 30_000, 100);
    const takeoverMs = Date.now() - killedAt;
    // Expiry (4 s without a counter change) + one renewal round (1 s) + scheduling slack.
    expect(takeoverMs).toBeLessThan(connector.leases.durationMs + 3 * connector.leases.renewIntervalMs + 2000);
    await sleep(1500);
    const counts = await writer.stop();
    const messages = await readTopic(
      connector.topic,
      (m) => {
        const seen = positions(m);
        return [...counts].every(([id, n]) => new Set(seen.get(id)).size === n);
      },
      { settleMs: 2500 },
    );
    const seen = positions(messages);
    for (const [id, n] of counts) expect(seen.get(id)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    await Promise.all([a.kill('SIGTERM'), b.kill('SIGTERM')]);
  });
});
