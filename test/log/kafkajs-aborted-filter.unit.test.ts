import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/**
 * kafkajs 2.2.4 drops aborted transactional records for read_committed
 * consumers in consumer/filterAbortedMessages.js. Its original assumed the
 * broker's aborted-transaction list is sorted by first offset and started at
 * most one aborted transaction per record; the broker lists them in the order
 * they were aborted (its transaction index), so when several producers' open
 * transactions are aborted together — every shard's after a bridge crash, all
 * writing the one checkpoint partition — records of an aborted transaction
 * were delivered as committed. The bridge then resumed after an aborted
 * checkpoint and skipped the aborted page's records: loss, found by
 * test/source/split-shards-kill.int.test.ts. scripts/patch-kafkajs.mjs
 * (postinstall) replaces the function by the Java client's algorithm.
 */
const filter = createRequire(import.meta.url)('kafkajs/src/consumer/filterAbortedMessages.js') as (args: {
  messages: Msg[];
  abortedTransactions: { producerId: string; firstOffset: string }[];
}) => Msg[];

interface Msg {
  offset: string;
  key: Buffer | null;
  isControlRecord?: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}

const data = (offset: number, producerId: string): Msg => ({ offset: String(offset), key: Buffer.from('k'), batchContext: { producerId, inTransaction: true } });
const marker = (offset: number, producerId: string, commit: boolean): Msg => ({
  offset: String(offset),
  key: Buffer.from([0, 0, 0, commit ? 1 : 0]),
  isControlRecord: true,
  batchContext: { producerId, inTransaction: true },
});
const kept = (messages: Msg[], aborted: [string, number][]) =>
  filter({ messages, abortedTransactions: aborted.map(([producerId, o]) => ({ producerId, firstOffset: String(o) })) })
    .filter((m) => !m.isControlRecord)
    .map((m) => Number(m.offset));

describe('kafkajs read_committed filtering of aborted transactions (patched)', () => {
  it('drops every aborted record when the broker lists aborted transactions in abort order, not first-offset order', () => {
    // The layout seen in the checkpoint partition: A's and B's transactions both aborted, B's marker first.
    const messages = [data(10, 'A'), data(11, 'B'), data(12, 'C'), marker(13, 'C', true), marker(14, 'B', false), marker(15, 'A', false)];
    expect(kept(messages, [['B', 11], ['A', 10]])).toEqual([12]);
  });

  it('starts several aborted transactions before one record', () => {
    const messages = [data(20, 'A'), data(21, 'B'), marker(22, 'A', false), marker(23, 'B', false), data(24, 'C'), marker(25, 'C', true)];
    // A fetch that begins after the first records of both: both must be active at its first record.
    expect(kept(messages.slice(1), [['A', 20], ['B', 21]])).toEqual([24]);
  });

  it('keeps a later committed transaction of a producer whose earlier one was aborted', () => {
    const messages = [data(30, 'A'), marker(31, 'A', false), data(32, 'A'), marker(33, 'A', true), data(34, 'A'), marker(35, 'A', false)];
    expect(kept(messages, [['A', 34], ['A', 30]])).toEqual([32]);
  });
});
