import type { Admin } from 'kafkajs';
import { createTopicsAndWait } from '../../src/log/topics.js';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLagMonitor } from '../../src/monitor/lag-monitor.js';
import { kafka, testLogger, uniqueName, fixtureProducer } from '../helpers/stack.js';

/**
 * Seconds-lag by interpolation (kafka-lag-exporter's method, used when the
 * record probe is off or cannot read the record) on a topic with a known
 * produce schedule: 10 records per second, one poll per second. The record at
 * the committed offset was appended between two polls, so the estimate must lie
 * within the interval between those polls, measured rather than assumed.
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

  it('estimates the age of the first unconsumed record within the poll interval it was appended in', async ({ annotate }) => {
    const monitor = createLagMonitor({
      kafka: k,
      groups: [group],
      registry: new Registry(),
      logger: testLogger,
      pollIntervalMs: 1_000,
      exactLagSeconds: false,
    });
    const producer = fixtureProducer(k);
    await producer.connect();
    // Each poll's start and end: the monitor samples the log end somewhere in between.
    const polls: { start: number; end: number }[] = [];
    const poll = async () => {
      const start = Date.now();
      const snap = await monitor.pollOnce();
      polls.push({ start, end: Date.now() });
      return snap;
    };
    let appended = { start: NaN, end: NaN }; // the send of the batch holding offset 25 (records 20-29)
    try {
      for (let i = 0; i < 8; i++) {
        const start = Date.now();
        await producer.send({ topic, messages: Array.from({ length: 10 }, (_, j) => ({ value: `r${i * 10 + j}` })) });
        if (i === 2) appended = { start, end: Date.now() };
        await new Promise((r) => setTimeout(r, 1_000));
        await poll();
      }
      const snap = await poll();
      const p = snap.groups[0]?.topics[0]?.partitions[0];
      expect(p).toMatchObject({ committedOffset: 25, lag: 55, lagSecondsMethod: 'interpolated' });
      // Offset 25 was appended between the poll after batch 1 (log end 20) and the poll after batch 2 (log
      // end 30); interpolating between those two samples puts its time inside that bracket, whatever the
      // machine's speed. So the estimate lies between the ages of the bracket's two ends at the last poll.
      const polledAt = Date.parse(snap.polledAt ?? '');
      const [before, after] = [polls[1]!, polls[2]!];
      const lagSeconds = p?.lagSeconds ?? NaN;
      const ms = 1; // lagSeconds has millisecond precision
      expect(lagSeconds * 1000).toBeGreaterThanOrEqual(polledAt - after.end - ms);
      expect(lagSeconds * 1000).toBeLessThanOrEqual(polledAt - before.start + ms);
      // How far from the truth (the send's acknowledgement), reported: the documented bound is the bracket's width.
      const truth = (polledAt - (appended.start + appended.end) / 2) / 1000;
      await annotate(`interpolated ${lagSeconds} s, truth ${truth.toFixed(3)} s, bracket ${((after.end - before.start) / 1000).toFixed(3)} s wide`);
    } finally {
      await producer.disconnect();
      await monitor.stop();
    }
  });
});
