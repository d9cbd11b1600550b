import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInventoryProjector } from '../../../src/consumers/projectors/inventory-projector.js';
import { createConsumerRunner, type ConsumerRunner } from '../../../src/consumers/runner.js';
import { createTopicsAndWait } from '../../../src/log/topics.js';
import { consumerFixture, produceRecords, writeHistory } from '../../helpers/pipeline.js';
import { eventually, kafka, testLogger, uniqueName } from '../../helpers/stack.js';

/**
 * Kafka client conformance, single broker (CI): what the consumer runner
 * relies on of the group consumer.
 * - Partitions paused in the assignment callback, before their first fetch,
 *   then sought and resumed, are read — partitions with records, partitions
 *   without a committed offset, and partitions that get their first record
 *   only later (kafkajs #1599: a partition paused before its first fetch was
 *   never read after resume).
 * - A member stopped while a rebalance is in progress (another member
 *   joining) leaves for good, in bounded time, and the other member takes
 *   every partition (kafkajs #1462: disconnect during a rebalance rejoined).
 */
describe('the group consumer under the runner (real broker)', () => {
  const k = kafka('conformance-group');
  const admin = k.admin();

  beforeAll(async () => {
    await admin.connect();
  });
  afterAll(async () => {
    await admin.disconnect();
  });

  it('partitions paused before their first fetch, then sought and resumed, are read (#1599)', async () => {
    const topic = uniqueName('conformance.paused');
    await createTopicsAndWait(admin, [{ topic, numPartitions: 3 }]);
    const producer = k.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      // Partition 0 has records before the group exists; 1 and 2 get theirs while it is paused.
      await producer.send({ topic, acks: -1, messages: [{ partition: 0, value: 'early-0' }] });
      const seen: string[] = [];
      const consumer = k.consumer({ groupId: uniqueName('paused'), readUncommitted: false, maxWaitTimeInMs: 100 });
      let assigned: number[] = [];
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        assigned = e.payload.memberAssignment[topic] ?? [];
        consumer.pause([{ topic, partitions: assigned }]);
      });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachBatch: async ({ batch }) => void seen.push(...batch.messages.map((m) => m.value!.toString())) });
      await eventually(async () => (assigned.length === 3 ? true : undefined), 30_000, 100);
      await producer.send({ topic, acks: -1, messages: [1, 2].map((partition) => ({ partition, value: `paused-${partition}` })) });
      await new Promise((r) => setTimeout(r, 1500));
      expect(seen).toEqual([]); // paused means paused
      for (const partition of assigned) consumer.seek({ topic, partition, offset: '0' });
      consumer.resume([{ topic, partitions: assigned }]);
      await producer.send({ topic, acks: -1, messages: [0, 1, 2].map((partition) => ({ partition, value: `late-${partition}` })) });
      await eventually(async () => (seen.length >= 6 ? true : undefined), 30_000, 100);
      await consumer.disconnect();
      expect([...seen].sort()).toEqual(['early-0', 'late-0', 'late-1', 'late-2', 'paused-1', 'paused-2']);
    } finally {
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    }
  });

  describe('a member stopped during a rebalance (#1462)', () => {
    let f: Awaited<ReturnType<typeof consumerFixture>>;
    const runners: ConsumerRunner[] = [];
    beforeAll(async () => {
      f = await consumerFixture('conformance-rebalance', 6);
    });
    afterAll(async () => {
      for (const r of runners) await r.stop().catch(() => undefined);
      await f?.close();
    });

    it('leaves for good within its bound; the other member takes every partition and applies what follows', async () => {
      const history = await writeHistory(f.journal, 24, 4, 'RB');
      const start = async () => {
        const r = createConsumerRunner({
          kafka: f.kafka, pool: f.db.pool, groupId: f.groupId, topics: [f.topic], serde: f.serde,
          handler: createInventoryProjector({ journal: f.journal, serde: f.serde, pool: f.db.pool, logger: testLogger, groupId: f.groupId }),
          logger: testLogger, metrics: new Registry(), sessionTimeoutMs: 10_000,
        });
        runners.push(r);
        await r.start();
        return r;
      };
      await produceRecords(f.producer, f.serde, f.topic, history.slice(0, 48));
      const first = await start();
      await eventually(async () => ((await f.admin.describeGroups([f.groupId])).groups[0]!.state === 'Stable' ? true : undefined), 60_000, 200);
      // A second member joins: the group rebalances; the first is stopped while it does.
      const joining = start();
      await eventually(async () => ((await f.admin.describeGroups([f.groupId])).groups[0]!.state !== 'Stable' ? true : undefined), 30_000, 20);
      const stopStarted = performance.now();
      await first.stop();
      const stopMs = performance.now() - stopStarted;
      const second = await joining;
      // Bounded: the stop waits at most for the rebalance it interrupted (a session timeout), never for good.
      expect(stopMs).toBeLessThan(10_000 + 15_000);
      expect(first.health().state).toBe('stopped');
      const stable = await eventually(async () => {
        const g = (await f.admin.describeGroups([f.groupId])).groups[0]!;
        return g.state === 'Stable' && g.members.length === 1 ? g : undefined;
      }, 60_000, 250);
      expect(stable.members).toHaveLength(1);
      // The stopped member did not come back, and the one left applies everything, including what comes after.
      await produceRecords(f.producer, f.serde, f.topic, history.slice(48));
      const ends = await f.admin.fetchTopicOffsets(f.topic);
      await eventually(async () => {
        const rows = (await f.db.pool.query<{ partition: number; next_offset: string }>('select partition, next_offset from consumer_offsets where group_id = $1', [f.groupId])).rows;
        const stored = new Map(rows.map((r) => [r.partition, Number(r.next_offset)]));
        return ends.every((e) => (stored.get(e.partition) ?? 0) >= Number(e.high)) ? true : undefined;
      }, 90_000, 250);
      expect((await f.admin.describeGroups([f.groupId])).groups[0]!.members).toHaveLength(1);
      expect(second.health().state).toBe('running');
    });
  });
});
