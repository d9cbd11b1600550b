import type { Admin } from 'kafkajs';
import { createTopicsAndWait } from '../../src/log/topics.js';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLagMonitor } from '../../src/monitor/lag-monitor.js';
import { kafka, testLogger, uniqueName } from '../helpers/stack.js';

/**
 * Seconds-lag by interpolation (kafka-lag-exporter's method, used when the
 * record probe is off or cannot read the record) on a topic with a known
 * produce schedule: 10 records per second, one poll per second. The record at
 * the committed offset was appended between two polls, so the documented bound
 * is one poll interval (plus the produce round trip).
 */
describe('seconds-lag by interpolation on a known produce schedule', () => {
  const k = kafka('lag-seconds');
  const topic = uniqueName('lag-seconds');
  const group = uniqueName('g-seconds');
  let admin: Admin;

  beforeAll(async () => {
    admin = k.admin();
    await admin.connect();
    await createTopicsAndWait(admin, [{ topic, numPartitions: 1 }]);
    await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '25' }] });
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('estimates the age of the first unconsumed record within one poll interval', async () => {
    const monitor = createLagMonitor({
      kafka: k,
      groups: [group],
      registry: new Registry(),
      logger: testLogger,
      pollIntervalMs: 1_000,
      exactLagSeconds: false,
    });
    const producer = k.producer();
    await producer.connect();
    const pollIntervalMs = 1_000;
    let appendedAt = NaN; // when the batch holding offset 25 (records 20-29) was acknowledged
    try {
      for (let i = 0; i < 8; i++) {
        const sent = Date.now();
        await producer.send({ topic, messages: Array.from({ length: 10 }, (_, j) => ({ value: `r${i * 10 + j}` })) });
        if (i === 2) appendedAt = (sent + Date.now()) / 2;
        await new Promise((r) => setTimeout(r, pollIntervalMs));
        await monitor.pollOnce();
      }
      const snap = await monitor.pollOnce();
      const p = snap.groups[0]?.topics[0]?.partitions[0];
      expect(p).toMatchObject({ committedOffset: 25, lag: 55, lagSecondsMethod: 'interpolated' });
      const truth = (Date.parse(snap.polledAt ?? '') - appendedAt) / 1000;
      expect(Math.abs((p?.lagSeconds ?? NaN) - truth)).toBeLessThanOrEqual(pollIntervalMs / 1000 + 0.5);
    } finally {
      await producer.disconnect();
      await monitor.stop();
    }
  });
});
