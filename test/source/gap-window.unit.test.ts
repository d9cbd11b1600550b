import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, type Checkpoint } from '../../src/log/checkpoints.js';
import { bucketsOf, sliceOf, writeTimeBucket } from '../../src/shared/write-time-index.js';
import { decodeKey, encodeKey, hasRelayed } from '../../src/source/backfill.js';
import { planWindow, type ShardHead } from '../../src/source/gap-window.js';
import { alreadyRelayed, seamOf, seamRecords } from '../../src/source/seam.js';
import { STREAM_RETENTION_MS } from '../../src/source/shard-worker.js';
import { fakeKafka, fakeStream, run, seq } from './shard-fakes.js';

const cp = (fields: Partial<Checkpoint> = {}): Checkpoint => ({ sequenceNumber: '1', shardEnded: false, updatedAt: 5_000_000, leaseEpoch: 0, ...fields });
const head = (shardId: string, writtenAt: number): ShardHead => ({ shardId, state: 'record', sequenceNumber: '9', writtenAt });

describe('gap window', () => {
  const skewMs = 1_000;
  const now = 10_000_000;

  it('starts at the last relayed write less the skew, stops at the first write the stream still holds plus the skew', () => {
    const w = planWindow({ trimmed: [cp({ writtenAt: 2_000_000 }), cp({ writtenAt: 3_000_000 })], resumeHeads: [head('a', 7_000_000), head('b', 6_000_000)], liveHeads: [], skewMs, now });
    expect(w).toEqual({ from: 1_999_000, to: 6_001_000, seamFrom: 5_999_000 });
  });

  it('an empty stream resumes now; a checkpoint without a write time starts a retention before it was written', () => {
    const w = planWindow({ trimmed: [cp({ updatedAt: STREAM_RETENTION_MS + 50_000 })], resumeHeads: [{ shardId: 'a', state: 'empty' }], liveHeads: [], skewMs, now });
    expect(w).toEqual({ from: 49_000, to: now + skewMs, seamFrom: now - skewMs });
  });

  it('a live shard that has not relayed part of the window yet widens the seam to cover it', () => {
    const w = planWindow({ trimmed: [cp({ writtenAt: 2_000_000 })], resumeHeads: [head('a', 6_000_000)], liveHeads: [head('b', 4_000_000), head('c', 9_000_000)], skewMs, now });
    expect(w.seamFrom).toBe(3_999_000);
    expect(w.to).toBe(6_001_000);
  });

  it('a first start reads from the beginning', () => {
    expect(planWindow({ trimmed: [], resumeHeads: [head('a', 6_000_000)], liveHeads: [], skewMs, now })).toEqual({ from: 0, to: 6_001_000, seamFrom: 5_999_000 });
  });
});

describe('write-time index buckets', () => {
  it('the writer and the repair agree: a window lists every bucket and slice an event in it can be stamped with', () => {
    const index = { bucketMs: 3_600_000, slices: 4 };
    const at = 1_800_000_000_123;
    const buckets = bucketsOf(index, at - 7_200_000, at);
    expect(buckets).toHaveLength(3);
    expect(buckets.flat()).toContain(writeTimeBucket(index, 'inventory-INV-1', at));
    expect(new Set(Array.from({ length: 200 }, (_, i) => sliceOf(`inventory-${i}`, 4)))).toEqual(new Set([0, 1, 2, 3]));
  });
});

describe('seam', () => {
  it('marks survive the checkpoint encoding in chunks; the union keeps the highest mark per id', () => {
    const entries = new Map(Array.from({ length: 12_000 }, (_, i) => [`id-${i}`, i + 1] as const));
    const { messages, next } = seamRecords({ table: 't', checkpointTopic: 'c', run: 'r', first: 3, entries });
    expect(next).toBe(6);
    expect(messages.map((m) => m.key)).toEqual(['t/$seam/r/3', 't/$seam/r/4', 't/$seam/r/5']);
    const all = new Map(messages.map((m) => [m.key.slice(2), decodeCheckpoint(m.value!)] as const));
    all.set('$seam/other/0', cp({ seam: { 'id-5': 100 } }));
    all.set('shard-1', cp({ seam: { 'id-7': 100 } }));
    const seam = seamOf(all);
    expect(seam.size).toBe(12_000);
    expect(seam.get('id-5')).toBe(100);
    expect(seam.get('id-7')).toBe(8);
    expect(alreadyRelayed(seam, 'id-5', 100)).toBe(true);
    expect(alreadyRelayed(seam, 'id-5', 101)).toBe(false);
    expect(alreadyRelayed(seam, 'nobody', 1)).toBe(false);
  });

  it('a shard worker reads AT a repair resume point and skips what the seam marks as relayed', async () => {
    const k = fakeKafka();
    k.committed.set('s', cp({ sequenceNumber: null, resumeAt: seq(3), writtenAt: 42 }));
    // The fake mapper gives every record persistence id 'p' and its number as sequence number.
    k.committed.set('$seam/repair-1/0', cp({ seam: { p: 5 } }));
    const s = fakeStream(10, { closed: true });
    expect(await run(s.reader, k)).toBe('finished');
    expect(s.iterators[0]).toEqual({ at: seq(3) });
    expect(k.topic).toEqual([6, 7, 8, 9, 10]);
    const after = k.committed.get('s')!;
    expect(after).toMatchObject({ sequenceNumber: seq(10), shardEnded: true, writtenAt: 42 });
    expect(after.resumeAt).toBeUndefined();
  });

  it('backfill progress keys round-trip binary values; a table has been relayed once a shard checkpoint or a completed backfill exists', () => {
    const key = { pk: { B: Buffer.from([0, 1, 255]) }, sk: { N: '7' } };
    expect(decodeKey(encodeKey(key))).toEqual(key);
    expect(hasRelayed(new Map([['$backfill', cp()], ['$backfill/0', cp()]]))).toBe(false);
    expect(hasRelayed(new Map([['$backfill', cp({ backfillCompletedAt: 1 })]]))).toBe(true);
    expect(hasRelayed(new Map([['shardId-1', cp()]]))).toBe(true);
  });
});
