import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { dynamo, dynamoStreams, eventually } from '../helpers/stack.js';
import { expectEachOnce, journalConnector, readTopic } from './bridge-env.js';
import { readAll, sleep, splitTestScope, startWriter, streamArnOf } from './harness/split-env.js';
import { startSplitStreamsServer } from './harness/split-streams-server.js';

/**
 * A stream gap, repaired: a bridge stops under load, writes go on, the
 * harness moves the trim horizon past its checkpoints (as 24 h of retention
 * would), and the next bridge relays the missed window from the table —
 * through the write-time index, or a filtered Scan without one. An
 * independent read_committed read of the topic must find every journal event
 * once, and the repair must have relayed the gap (plus what lies within the
 * skew allowance past the resume point), read the window rather than the
 * table (index), and skipped what the topic held.
 */

const SKEW_MS = 2_000;
/** Events per id written and relayed before the outage. */
const HISTORY = 50;
const { tables, servers, bridgeOn, cleanup } = splitTestScope('gap-bridge');
afterAll(cleanup);

const keyOf = (id: string | undefined, seq: string | number | undefined) => `${id}#${seq}`;


async function tableItems(table: string): Promise<Record<string, AttributeValue>[]> {
  const out: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamo().send(new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }));
    out.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}

async function outage(withIndex: boolean) {
  const h = await startSplitStreamsServer({ real: dynamoStreams(), policy: { everyRecords: 60, maxDepth: 2 }, describePageSize: 4 });
  servers.push(h);
  const base = await journalConnector(tables, {
    shards: { rediscoveryIntervalMs: 500 },
    leases: { enabled: true, durationMs: 4000, renewIntervalMs: 1000 },
    gapRepair: { skewAllowanceMs: SKEW_MS, segments: 2, pageSize: 100, ...(withIndex ? { index: { name: 'written_at-index', bucketAttribute: 'written_bucket', bucketMs: 3_600_000, slices: 4 } } : {}) },
  });
  const { connector, journal, serde } = base;
  const arn = await streamArnOf(connector.table);
  const ids = Array.from({ length: 8 }, (_, i) => `inventory-GAP-${i}`);

  // History, relayed long before the outage: what a repair must not read again (with the index).
  const first = bridgeOn(h, connector, serde, 'gap-w1');
  await first.start();
  const history = startWriter(journal, ids, { perId: HISTORY });
  await history.done;
  await readAll(connector.topic, history.counts);
  await sleep(2 * SKEW_MS + 500);

  // Under load from here on: the bridge stops mid-stream, writes go on through the outage, the trim and the repair.
  const writer = startWriter(journal, ids, { after: HISTORY, pauseMs: 20 });
  await sleep(2_000);
  await first.stop();
  const inTopic = new Set((await readTopic(connector.topic, () => true)).map((m) => keyOf(m.key, m.headers.sequence_nr)));
  await sleep(3_000);
  const horizon = await h.trimAllBut(arn, 1);
  const stream = await h.records(arn);
  const streamSeq = new Map(stream.map((r) => [keyOf(r.image?.pkey?.S, r.image?.sequence_nr?.N), BigInt(r.sequenceNumber)] as const));
  const gap = [...streamSeq].filter(([k, s]) => s < BigInt(horizon) && !inTopic.has(k)).map(([k]) => k);
  const tableSize = (await tableItems(connector.table)).length;

  const second = bridgeOn(h, connector, serde, 'gap-w2');
  await second.start();
  await eventually(async () => (second.status().repair.runs >= 1 ? true : undefined), 120_000, 200);
  await sleep(1_000);
  const counts = await writer.stop();
  const messages = await readAll(connector.topic, counts, 180_000);
  expectEachOnce(messages, counts);

  const r = second.status().repair.last!;
  expect(second.status().repair.runs).toBe(1);
  expect(r.trimmedShards.length).toBeGreaterThan(0);
  const items = await tableItems(connector.table);
  const window = items.filter((i) => {
    const w = Number(i.written_at!.N);
    return w >= r.window.from && w <= r.window.to;
  });
  const windowKeys = window.map((i) => keyOf(i.pkey!.S, i.sequence_nr!.N));
  // Past the resume point: in the stream too, relayed by the repair and marked in the seam (the stream skipped them).
  const pastHorizon = windowKeys.filter((k) => (streamSeq.get(k) ?? BigInt(horizon)) >= BigInt(horizon));
  expect(gap.length).toBeGreaterThan(20);
  expect(gap.every((k) => windowKeys.includes(k)), 'every lost event lies in the window').toBe(true);
  expect(r.relayed).toBe(gap.length + pastHorizon.length);
  expect(r.alreadyInTopic).toBe(windowKeys.filter((k) => inTopic.has(k)).length);
  expect(r.inWindow).toBe(window.length);
  // The window starts within the skew allowance of the stopped bridge's last write: the history is not in it.
  expect(window.filter((i) => Number(i.sequence_nr!.N) <= HISTORY)).toEqual([]);
  return { r, tableSize, gap: gap.length, window: window.length, history: HISTORY * ids.length, total: items.length };
}

describe('stream gap repair (harness trims past a stopped bridge, under load)', () => {
  it('with the write-time index: reads the missed window, not the table; relays the gap; every event once', async ({ annotate }) => {
    const { r, tableSize, gap, window, history, total } = await outage(true);
    expect(r.method).toBe('index');
    // What the index holds for the window, nothing of the history before it.
    expect(r.itemsRead).toBe(window);
    expect(r.itemsRead).toBeLessThanOrEqual(total - history);
    await annotate(`index: table ${tableSize} items at the repair (${total} at the end, ${history} history), gap ${gap}, window ${window}, read ${r.itemsRead}, relayed ${r.relayed}, already in topic ${r.alreadyInTopic}`);
  });

  it('without an index: a filtered Scan reads the whole table but relays only the window; every event once', async ({ annotate }) => {
    const { r, tableSize, gap, window } = await outage(false);
    // Every item of the table as the repair began (and what was written while it scanned).
    expect(r.method).toBe('scan');
    expect(r.itemsRead).toBeGreaterThanOrEqual(tableSize);
    await annotate(`scan: table ${tableSize} items, gap ${gap}, window ${window}, read ${r.itemsRead}, relayed ${r.relayed}, already in topic ${r.alreadyInTopic}`);
  });
});
