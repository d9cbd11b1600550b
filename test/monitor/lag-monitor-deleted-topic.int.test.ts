import { Registry } from 'prom-client';
import { createTopicsAndWait } from '../../src/log/topics.js';
import { describe, expect, it } from 'vitest';
import { createLagMonitor } from '../../src/monitor/lag-monitor.js';
import { eventually, kafka, testLogger, uniqueName, fixtureProducer } from '../helpers/stack.js';

describe('lag monitor when a watched topic is deleted (real broker)', () => {
  it('keeps reading the other topics of the group without errors', async () => {
    const k = kafka('lag-deleted');
    const admin = k.admin();
    await admin.connect();
    const doomed = uniqueName('doomed');
    const kept = uniqueName('kept');
    const group = uniqueName('g-deleted');
    await createTopicsAndWait(admin, [{ topic: doomed }, { topic: kept }]);
    const producer = fixtureProducer(k);
    await producer.connect();
    for (const topic of [doomed, kept]) await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] });
    await producer.disconnect();
    for (const topic of [doomed, kept]) await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '0' }] });

    const monitor = createLagMonitor({ kafka: k, groups: [group], registry: new Registry(), logger: testLogger, pollIntervalMs: 1_000 });
    try {
      const before = await monitor.pollOnce();
      expect(before.groups[0]?.topics.map((t) => t.topic).sort()).toEqual([doomed, kept].sort());
      await admin.deleteTopics({ topics: [doomed] });
      await eventually(async () => ((await admin.listTopics()).includes(doomed) ? undefined : true));
      // kafkajs clients that once asked about a deleted topic fail on every topic afterwards;
      // the monitor notices the deletion and starts with fresh clients.
      const after = await monitor.pollOnce();
      expect(after.errors).toEqual([]);
      expect(after.groups[0]?.topics.map((t) => [t.topic, t.sumLag])).toEqual([[kept, 2]]);
    } finally {
      await monitor.stop();
      await admin.deleteTopics({ topics: [kept] }).catch(() => undefined);
      await admin.disconnect();
    }
  });
});
