import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer, Transaction } from 'kafkajs';
import { createRecordFetcher } from '../../../src/log/record-fetcher.js';
import { createTopicsAndWait } from '../../../src/log/topics.js';
import { eventually, kafka, uniqueName } from '../../helpers/stack.js';

/**
 * Kafka client conformance, single broker (CI): read_committed with several
 * producers' transactions interleaved in one partition, some aborted, read
 * by a group consumer whose fetches are cut mid-transaction (tiny maxBytes),
 * and by the record fetcher the consumers verify stored offsets with. Each
 * must see exactly the committed records, once, in log order. Stock kafkajs
 * 2.2.4 let records of aborted transactions through here when several
 * producers aborted together (patch 1 of scripts/patch-kafkajs.mjs).
 */
describe('read_committed over interleaved and aborted transactions (real broker)', () => {
  const k = kafka('conformance-rc');
  const admin = k.admin();
  const topic = uniqueName('conformance.rc');
  const producers: Producer[] = [];
  /** Values of committed records, in the order they were written to the partition. */
  const committed: string[] = [];
  let aborted = 0;

  beforeAll(async () => {
    await admin.connect();
    await createTopicsAndWait(admin, [{ topic, numPartitions: 1 }]);
    for (let p = 0; p < 3; p++) {
      const producer = k.producer({ transactionalId: uniqueName(`rc-${p}`), idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      producers.push(producer);
    }
    // Rounds of three open transactions whose records interleave in the partition; each round
    // ends them in a different order, aborting one or two of them.
    const written: { value: string; txn: number }[] = [];
    for (let round = 0; round < 8; round++) {
      const txns: Transaction[] = [];
      for (const p of producers) txns.push(await p.transaction());
      for (let chunk = 0; chunk < 4; chunk++) {
        for (let p = 0; p < 3; p++) {
          const values = Array.from({ length: 3 }, (_, i) => `r${round}-p${p}-c${chunk}-${i}-${'x'.repeat(40)}`);
          await txns[p]!.send({ topic, messages: values.map((value) => ({ key: `p${p}`, value })) });
          for (const value of values) written.push({ value, txn: round * 3 + p });
        }
      }
      const order = [0, 1, 2].map((i) => (i + round) % 3);
      for (const p of order) {
        const abort = (round + p) % 3 === 0 || (round % 4 === 1 && p === 2);
        if (abort) {
          await txns[p]!.abort();
          aborted++;
        } else await txns[p]!.commit();
      }
      const ended = new Set(order.map((p) => round * 3 + p).filter((t) => !(((t % 3) + Math.floor(t / 3)) % 3 === 0 || (Math.floor(t / 3) % 4 === 1 && t % 3 === 2))));
      for (const w of written.splice(0)) if (ended.has(w.txn)) committed.push(w.value);
    }
  }, 120_000);
  afterAll(async () => {
    for (const p of producers) await p.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('a group consumer with fetches cut mid-transaction sees exactly the committed records, in order', async () => {
    expect(aborted).toBeGreaterThan(5);
    expect(committed.length).toBeGreaterThan(100);
    const seen: string[] = [];
    let lastSeen = -1;
    const consumer = k.consumer({ groupId: uniqueName('rc-group'), readUncommitted: false, maxBytesPerPartition: 300, maxBytes: 600, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          seen.push(m.value!.toString());
          lastSeen = Math.max(lastSeen, Number(m.offset));
        }
      },
    });
    // Read to the last committed record (taken after the writes): past it there are only markers and aborted records.
    const fetcher = createRecordFetcher({ kafka: k });
    const high = Number((await admin.fetchTopicOffsets(topic))[0]!.high);
    const lastCommitted = Number((await fetcher.lastBefore(topic, 0, high, 0))!.offset);
    await fetcher.close();
    await eventually(async () => (lastSeen >= lastCommitted ? true : undefined), 60_000, 100);
    await consumer.disconnect();
    expect(seen).toEqual(committed);
  });

  it('the record fetcher reads each committed record at its offset and skips aborted ones and markers', async () => {
    const fetcher = createRecordFetcher({ kafka: k, maxBytes: 300 });
    try {
      const values: string[] = [];
      for (let at = 0; ; ) {
        const r = await fetcher.firstAtOrAfter(topic, 0, at);
        if (!r) break;
        values.push(r.value!.toString());
        at = Number(r.offset) + 1;
      }
      expect(values).toEqual(committed);
      // The last committed record lies before the log end (markers follow it), and nothing committed comes after it.
      const high = Number((await admin.fetchTopicOffsets(topic))[0]!.high);
      const last = await fetcher.lastBefore(topic, 0, high, 0);
      expect(last?.value?.toString()).toBe(committed.at(-1));
    } finally {
      await fetcher.close();
    }
  });
});
