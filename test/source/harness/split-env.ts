import { DeleteTableCommand, DescribeTableCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { Registry } from 'prom-client';
import type { EventSerde } from '../../../src/events/serde.js';
import { createBridge, type Bridge } from '../../../src/source/bridge.js';
import type { Journal } from '../../../src/command/journal.js';
import type { ConnectorConfig } from '../../../src/source/connector.js';
import { createDynamoStreams } from '../../../src/source/dynamodb.js';
import { schemaStore } from '../../helpers/schemas.js';
import { dynamo, dynamoSettings, kafka, testLogger } from '../../helpers/stack.js';
import { appendReceived, catalog, positions, readTopic, type ReadMessage } from '../bridge-env.js';
import type { SplitLayout } from './split-layout.js';
import type { HarnessCall, SplitStreamsServer } from './split-streams-server.js';

/** Shared steps of the shard-split tests (test/source/split-shards*.int.test.ts). */

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A streams client of the harness, as the bridge gets it from DYNAMODB_STREAMS_ENDPOINT. */
export const harnessStreams = (h: SplitStreamsServer) => createDynamoStreams({ ...dynamoSettings(), endpoint: h.endpoint });

/**
 * What a split test file starts, and its teardown: the bridges it runs on a
 * harness (bridgeOn), the harness servers and the tables (with their lease
 * tables) it created. Call `cleanup` from afterAll.
 */
export function splitTestScope(clientSuffix: string) {
  const tables: string[] = [];
  const servers: SplitStreamsServer[] = [];
  const bridges: Bridge[] = [];
  return {
    tables,
    servers,
    /** A bridge reading the stream through harness `h`. */
    bridgeOn(h: SplitStreamsServer, connector: ConnectorConfig, serde: EventSerde, workerId: string): Bridge {
      const b = createBridge({ connector, kafka: kafka(clientSuffix), ddb: dynamo(), streams: harnessStreams(h), serde, schemaStore: schemaStore(), logger: testLogger, metrics: new Registry(), catalog, workerId });
      bridges.push(b);
      return b;
    },
    async cleanup() {
      await Promise.all(bridges.map((b) => b.stop().catch(() => undefined)));
      await Promise.all(servers.map((s) => s.close()));
      for (const t of tables) {
        await dynamo().send(new DeleteTableCommand({ TableName: t })).catch(() => undefined);
        await dynamo().send(new DeleteTableCommand({ TableName: `${t}-leases` })).catch(() => undefined);
      }
    },
  };
}

export async function streamArnOf(table: string): Promise<string> {
  const d = await dynamo().send(new DescribeTableCommand({ TableName: table }));
  return d.Table!.LatestStreamArn!;
}

/** Appends StockReceived round-robin over `ids` (all ids concurrently per round) after `after`, until stopped or `perId` each. */
export function startWriter(journal: Journal, ids: string[], options: { pauseMs?: number; perId?: number; after?: number } = {}) {
  const { pauseMs = 20, perId = Infinity, after = 0 } = options;
  const counts = new Map(ids.map((id) => [id, after]));
  let stopped = false;
  const done = (async () => {
    for (let round = after + 1; !stopped && round <= perId; round++) {
      await Promise.all(ids.map(async (id) => appendReceived(journal, id, round).then(() => counts.set(id, round))));
      await sleep(pauseMs);
    }
  })();
  return {
    counts,
    done,
    async stop() {
      stopped = true;
      await done;
      return counts;
    },
  };
}

/**
 * Waits until the topic holds every counted event; asserts nothing itself.
 * On a timeout the error names each missing event and, given the layout, the
 * simulated shard that holds it.
 */
export async function readAll(topic: string, counts: Map<string, number>, timeoutMs = 120_000, layout?: SplitLayout) {
  let last: ReadMessage[] = [];
  return readTopic(
    topic,
    (m) => {
      last = m;
      const seen = positions(m);
      return [...counts].every(([id, n]) => new Set(seen.get(id)).size === n);
    },
    { timeoutMs },
  ).catch((err: unknown) => {
    const seen = positions(last);
    const missing = [...counts].flatMap(([id, n]) =>
      Array.from({ length: n }, (_, i) => i + 1)
        .filter((seq) => !seen.get(id)?.includes(seq))
        .map((seq) => `${id}#${seq} in ${layout ? shardHolding(layout, id, seq) : '?'}`),
    );
    throw new Error(`${String(err)}\nmissing ${missing.length}: ${missing.slice(0, 40).join(', ')}`);
  });
}

function shardHolding(layout: SplitLayout, id: string, seq: number): string {
  for (const s of layout.shards()) {
    const r = s.records.find((x) => {
      const img = (x.wire.dynamodb as { NewImage?: Record<string, { S?: string; N?: string }> }).NewImage;
      return img?.pkey?.S === id && img.sequence_nr?.N === String(seq);
    });
    if (r) return `${s.shardId} (${r.sequenceNumber}, ${s.endingSequenceNumber ? `closed at ${s.endingSequenceNumber}` : 'open'})`;
  }
  return 'no shard (not in the stream)';
}

/** Per child shard: [first time the bridge touched it, time its parent was served to its end]. */
export function childReadsVersusParentEnd(calls: HarnessCall[], parentOf: Map<string, string>) {
  const endedAt = new Map<string, number>();
  const firstAt = new Map<string, number>();
  for (const c of calls) {
    if (c.ended && !endedAt.has(c.shardId)) endedAt.set(c.shardId, c.at);
    if (!firstAt.has(c.shardId)) firstAt.set(c.shardId, c.at);
  }
  return [...parentOf].flatMap(([child, parent]) => {
    const first = firstAt.get(child);
    return first === undefined ? [] : [{ child, parent, firstRead: first, parentEnded: endedAt.get(parent) }];
  });
}

export async function leaseOwners(connector: ConnectorConfig): Promise<Map<string, string | undefined>> {
  const page = await dynamo().send(new ScanCommand({ TableName: connector.leases.table, ConsistentRead: true }));
  return new Map((page.Items ?? []).filter((i) => i.shardEnded?.BOOL !== true).map((i) => [i.leaseKey!.S!, i.leaseOwner?.S]));
}
