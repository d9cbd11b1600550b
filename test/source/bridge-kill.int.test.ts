import { DeleteTableCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import type { Journal } from '../../src/command/journal.js';
import type { ConnectorConfig } from '../../src/source/connector.js';
import type { SinkClientName } from '../../src/log/kafka.js';
import { SINK_CLIENTS } from '../helpers/sink-clients.js';
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

/** A bridge process whose producer runs on `client` (BRIDGE_KAFKA_CLIENT). */
function run(connector: ConnectorConfig, workerId: string, client: SinkClientName): BridgeProcess {
  const p = spawnBridge(connector, workerId, { BRIDGE_KAFKA_CLIENT: client });
  children.push(p);
  return p;
}

async function killRepeatedly(connector: ConnectorConfig, kills: number, client: SinkClientName): Promise<{ readyKills: number }> {
  let readyKills = 0;
  for (let i = 0; i < kills; i++) {
    const p = run(connector, 'w1', client);
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

async function drainAndCheck(connector: ConnectorConfig, counts: Map<string, number>, client: SinkClientName) {
  const final = run(connector, 'w1', client);
  await final.ready;
  expect(final.output(), 'the client the bridge process runs its producer on').toContain(`kafka-client=${client}`);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  let seenSoFar: ReadMessage[] = [];
  const messages = await readTopic(
    connector.topic,
    (m) => {
      seenSoFar = m;
      const seen = positions(m);
      return [...counts].every(([id, n]) => new Set(seen.get(id)).size === n);
    },
    { timeoutMs: 90_000 },
  ).catch((err: unknown) => {
    const seen = positions(seenSoFar);
    const short = [...counts].map(([id, n]) => `${id}: ${new Set(seen.get(id)).size}/${n}`).join(', ');
    throw new Error(`${String(err)}\n${short}\nfinal bridge said:\n${final.output().slice(-3000)}`);
  });
  await final.kill('SIGTERM');
  return { messages, total };
}

describe.each(SINK_CLIENTS)('CDC bridge under kill -9, its producer on %s', (client) => {
  it('exactly-once: ≥ 10 SIGKILLs during a load, a read_committed consumer sees every journal event exactly once, in order', async () => {
    const { connector, journal } = await setup('exactly-once');
    const ids = Array.from({ length: 8 }, (_, i) => `inventory-EO-${i}`);
    const writer = startWriter(journal, ids, 20);
    const { readyKills } = await killRepeatedly(connector, 12, client);
    const counts = await writer.stop();
    const { messages, total } = await drainAndCheck(connector, counts, client);
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
    await killRepeatedly(connector, 5, client);
    const counts = await writer.stop();
    const { messages, total } = await drainAndCheck(connector, counts, client);
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

  it('two workers share a table: the lease holder is killed, the other takes the shard over once the lease expired, never sooner', async ({ annotate }) => {
    const { connector, journal } = await setup('exactly-once');
    const ids = Array.from({ length: 4 }, (_, i) => `inventory-LS-${i}`);
    const a = run(connector, 'worker-a', client);
    await a.ready;
    const b = run(connector, 'worker-b', client);
    await b.ready;
    const writer = startWriter(journal, ids, 30);
    // The lease item, polled every 100 ms from before the kill until the takeover: when each counter value
    // first showed and when the survivor owned it.
    const samples: { start: number; end: number; owner: string | undefined; counter: number }[] = [];
    const lease = async () => {
      const start = Date.now();
      const page = await ddb.send(new ScanCommand({ TableName: connector.leases.table, ConsistentRead: true }));
      const item = page.Items?.[0];
      samples.push({ start, end: Date.now(), owner: item?.leaseOwner?.S, counter: Number(item?.leaseCounter?.N ?? 0) });
      return samples.at(-1)!;
    };
    const holder = await eventually(async () => (await lease()).owner, 20_000, 100);
    await eventually(async () => ((await lease()).end - samples[0]!.start > 1500 ? true : undefined), 20_000, 100);
    const [victim, survivor] = holder === 'worker-a' ? [a, 'worker-b'] : [b, 'worker-a'];
    const killedAt = Date.now();
    await victim.kill('SIGKILL');
    // Liveness: the survivor takes the shard over (generous bound; a busy machine only makes it later).
    const taken = await eventually(async () => {
      const l = await lease();
      return l.owner === survivor ? l : undefined;
    }, 60_000, 100);
    const takeoverMs = taken.end - killedAt;
    // Safety, whatever the machine's speed: the survivor took the lease by a write conditional on the counter
    // it last saw (taken.counter - 1) and only once that counter had not moved for the lease duration. The
    // counter got that value after the last poll that still saw an older one started.
    const firstWithC = samples.findIndex((x) => x.counter === taken.counter - 1);
    const before = samples[firstWithC - 1];
    if (before) {
      expect(taken.end - before.start, `lease taken ${taken.end - before.start} ms after its counter last moved (lease duration ${connector.leases.durationMs} ms)`).toBeGreaterThanOrEqual(connector.leases.durationMs);
    }
    await annotate(`bridge lease takeover after kill -9 of its holder: ${takeoverMs} ms (lease duration ${connector.leases.durationMs} ms, renewal every ${connector.leases.renewIntervalMs} ms)`);
    await sleep(1500);
    const counts = await writer.stop();
    const messages = await readTopic(
      connector.topic,
      (m) => {
        const seen = positions(m);
        return [...counts].every(([id, n]) => new Set(seen.get(id)).size === n);
      },
    );
    const seen = positions(messages);
    for (const [id, n] of counts) expect(seen.get(id)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    await Promise.all([a.kill('SIGTERM'), b.kill('SIGTERM')]);
  });
});
