import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopicsAndWait } from '../../src/log/topics.js';
import type { Admin } from 'kafkajs';
import { kafka, uniqueName } from '../helpers/stack.js';

describe('kafka (real broker)', () => {
  const k = kafka('smoke');
  let admin: Admin;
  const topic = uniqueName('smoke');

  beforeAll(async () => {
    admin = k.admin();
    await admin.connect();
    await createTopicsAndWait(admin, [{ topic, numPartitions: 1 }]);
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('read_committed sees the committed transaction and not the aborted one', async () => {
    const producer = k.producer({
      transactionalId: uniqueName('smoke-tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const commit = async (value: string) => {
      const tx = await producer.transaction();
      await tx.send({ topic, messages: [{ key: 'k', value }] });
      await tx.commit();
    };
    await commit('committed');
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ key: 'k', value: 'aborted' }] });
    await aborted.abort();
    // A sentinel committed after the abort: once it is read, the aborted record
    // would have been read before it if read_committed let it through.
    await commit('sentinel');
    await producer.disconnect();

    const consumer = k.consumer({ groupId: uniqueName('smoke-g'), readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out, saw ${seen.join(',')}`)), 60_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          const v = message.value?.toString() ?? '';
          seen.push(v);
          if (v === 'sentinel') {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    expect(seen).toEqual(['committed', 'sentinel']);

    // read_uncommitted, by contrast, shows the aborted record: the test above is not vacuous.
    const dirty = k.consumer({ groupId: uniqueName('smoke-d'), readUncommitted: true });
    await dirty.connect();
    await dirty.subscribe({ topic, fromBeginning: true });
    const dirtySeen: string[] = [];
    await new Promise<void>((resolve) => {
      void dirty.run({
        eachMessage: async ({ message }) => {
          dirtySeen.push(message.value?.toString() ?? '');
          if (dirtySeen.length === 3) resolve();
        },
      });
    });
    await dirty.disconnect();
    expect(dirtySeen).toEqual(['committed', 'aborted', 'sentinel']);
  });
});
