import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectorConfig } from '../../src/source/connector.js';
import type { EventSerde } from '../../src/events/serde.js';
import { dynamoStreams, eventually } from '../helpers/stack.js';
import { journalConnector, positions, readTopic } from './bridge-env.js';
import { startSplitStreamsServer, type SplitStreamsServer } from './harness/split-streams-server.js';
import { childReadsVersusParentEnd, readAll, sleep, splitTestScope, startWriter, streamArnOf } from './harness/split-env.js';

/**
 * The bridge through the real AWS SDK against a stream whose shards split
 * (test/source/harness: DynamoDB Local's real records, simulated layout).
 */

const { tables, servers, bridgeOn: bridgeOnAs, cleanup } = splitTestScope('split-bridge');
afterAll(cleanup);

const fast = { shards: { rediscoveryIntervalMs: 500 }, leases: { enabled: true, durationMs: 4000, renewIntervalMs: 1000 } };

async function harness(policy: { everyRecords: number; maxDepth: number }) {
  const h = await startSplitStreamsServer({ real: dynamoStreams(), policy, describePageSize: 4 });
  servers.push(h);
  return h;
}

const bridgeOn = (h: SplitStreamsServer, connector: ConnectorConfig, serde: EventSerde) => bridgeOnAs(h, connector, serde, 'split-w1');

function expectInOrderOnce(messages: Awaited<ReturnType<typeof readTopic>>, counts: Map<string, number>) {
  const seen = positions(messages);
  for (const [id, n] of counts) expect(seen.get(id), id).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  expect(messages).toHaveLength([...counts.values()].reduce((a, b) => a + b, 0));
}

describe('bridge over splitting shards (harness)', () => {
  let h: SplitStreamsServer;
  beforeAll(async () => {
    h = await harness({ everyRecords: 40, maxDepth: 3 });
  });

  it('three generations of splits, eight open shards: every event once, per-key order across each split, children read after their parents end', async () => {
    const { connector, journal, serde } = await journalConnector(tables, fast);
    const arn = await streamArnOf(connector.table);
    const bridge = bridgeOn(h, connector, serde);
    await bridge.start();
    const ids = Array.from({ length: 16 }, (_, i) => `inventory-SPLIT-${i}`);
    const writer = startWriter(journal, ids, { perId: 12 });
    // Iterators handed out before these moments expire; the bridge renews them from its checkpoints.
    // Each moment comes after the bridge has been served GetRecords since the last one (however slowly the
    // machine starts it), so there are live iterators to expire.
    let since = 0;
    for (let i = 0; i < 3; i++) {
      await eventually(async () => (h.calls.some((c) => c.op === 'GetRecords' && c.at > since) ? true : undefined), 60_000, 100);
      await sleep(1500);
      h.expireIterators();
      since = Date.now();
    }
    await writer.done;
    const messages = await readAll(connector.topic, writer.counts);
    expectInOrderOnce(messages, writer.counts);

    const layout = await h.layout(arn);
    expect(layout.generations()).toBeGreaterThanOrEqual(3);
    expect(layout.openShards().length).toBeGreaterThanOrEqual(8);
    expect(layout.openShards().filter((s) => s.records.length > 0).length).toBeGreaterThanOrEqual(6);
    expect(h.refusals.filter((r) => r.type === 'ExpiredIteratorException').length).toBeGreaterThan(0);
    // Expired iterators were renewed from the checkpoints (more iterators than shards).
    expect(h.calls.filter((c) => c.op === 'GetShardIterator').length).toBeGreaterThan(layout.shards().length);
    const parentOf = new Map(layout.shards().flatMap((s) => (s.parentShardId ? [[s.shardId, s.parentShardId] as const] : [])));
    const order = childReadsVersusParentEnd(h.calls, parentOf);
    expect(order.length).toBe(parentOf.size);
    for (const o of order) {
      expect(o.parentEnded, `${o.parent} was never read to its end before ${o.child}`).toBeDefined();
      expect(o.firstRead).toBeGreaterThanOrEqual(o.parentEnded!);
    }
    await bridge.stop();
  });

  it('a split discovered while the parent still has unread records waits for the parent', async () => {
    const manual = await harness({ everyRecords: 0, maxDepth: 3 });
    const { connector, journal, serde } = await journalConnector(tables, fast);
    const arn = await streamArnOf(connector.table);
    const bridge = bridgeOn(manual, connector, serde);
    await bridge.start();
    const ids = Array.from({ length: 6 }, (_, i) => `inventory-WAIT-${i}`);
    const first = startWriter(journal, ids, { perId: 3 });
    await first.done;
    await readAll(connector.topic, first.counts);
    const root = (await manual.layout(arn)).shards()[0]!.shardId;
    // The parent turns slow: what is written now stays unread in it when it closes.
    await manual.hold(arn, root);
    await startWriter(journal, ids, { after: 3, perId: 6 }).done;
    const children = await manual.split(arn);
    const more = startWriter(journal, ids, { after: 6, perId: 9 });
    await more.done;
    const layout = await manual.layout(arn);
    expect(layout.byId(root)!.endingSequenceNumber).toBeDefined();
    expect(layout.byId(children[0]!)!.records.length + layout.byId(children[1]!)!.records.length).toBeGreaterThan(0);
    // Several discovery rounds see the children while the parent has unread records.
    await sleep(4 * connector.shards.rediscoveryIntervalMs);
    expect(manual.calls.filter((c) => children.includes(c.shardId))).toEqual([]);
    await manual.hold(arn, root, false);
    const messages = await readAll(connector.topic, more.counts);
    expectInOrderOnce(messages, more.counts);
    const order = childReadsVersusParentEnd(manual.calls, new Map(children.map((c) => [c, root])));
    for (const o of order) expect(o.firstRead).toBeGreaterThanOrEqual(o.parentEnded!);
    await bridge.stop();
  });
  it('positions older than the trim horizon: the bridge repairs the missed window from the table, then reads on where the stream resumes; every event once', async () => {
    const trimming = await harness({ everyRecords: 15, maxDepth: 2 });
    const { connector, journal, serde } = await journalConnector(tables, fast);
    const arn = await streamArnOf(connector.table);
    const first = bridgeOn(trimming, connector, serde);
    await first.start();
    const ids = Array.from({ length: 5 }, (_, i) => `inventory-TRIM-${i}`);
    const before = startWriter(journal, ids, { perId: 4 });
    await before.done;
    await readAll(connector.topic, before.counts);
    await first.stop();
    // Written while no bridge runs, then (but for the newest record) gone from the stream.
    const during = startWriter(journal, ids, { after: 4, perId: 8 });
    await during.done;
    await trimming.trimBefore(arn, (await trimming.layout(arn)).lastSequence());
    const second = bridgeOn(trimming, connector, serde);
    await second.start();
    const messages = await readAll(connector.topic, during.counts);
    expect(second.status().repair.runs).toBeGreaterThanOrEqual(1);
    expect(second.status().backfill.runs).toBe(0);
    expect(trimming.refusals.filter((r) => r.type === 'TrimmedDataAccessException').length).toBeGreaterThan(0);
    expectInOrderOnce(messages, during.counts);
    await second.stop();
  });
});
