import { describe, expect, it } from 'vitest';
import { partitionLag } from '../../src/monitor/lag-calc.js';
import { createOffsetTimeTable } from '../../src/monitor/offset-time-table.js';
import { resolveProbe, scanFetched } from '../../src/log/record-probe.js';

describe('offset → time interpolation (known produce schedule)', () => {
  // 10 records/s, sampled every 5 s for 60 s: log end at t is 10·t.
  const pollMs = 5_000;
  const table = createOffsetTimeTable({ capacity: 60 });
  for (let t = 0; t <= 60_000; t += pollMs) table.add({ offset: (t / 1000) * 10, timeMs: t });
  const appendedAt = (offset: number) => ((offset + 1) / 10) * 1000; // record o is appended when the log end passes o

  it('interpolates within the table to within one poll interval', () => {
    for (const offset of [0, 7, 123, 333, 599]) {
      const r = table.lookup(offset);
      expect(r?.method).toBe('interpolated');
      expect(Math.abs((r?.timeMs ?? NaN) - appendedAt(offset))).toBeLessThanOrEqual(pollMs);
    }
  });

  it('is exact for a steady rate and extrapolates older offsets from the table rate', () => {
    const small = createOffsetTimeTable({ capacity: 3 });
    for (let t = 40_000; t <= 60_000; t += 10_000) small.add({ offset: (t / 1000) * 10, timeMs: t });
    expect(small.lookup(450)?.timeMs).toBeCloseTo(appendedAt(450), 6);
    const old = small.lookup(100);
    expect(old?.method).toBe('extrapolated');
    expect(old?.timeMs).toBeCloseTo(appendedAt(100), 6);
  });

  it('no lag at or beyond the log end; idle topics give a finite lower bound', () => {
    expect(table.lookup(600)).toBeUndefined();
    const idle = createOffsetTimeTable();
    for (let t = 0; t <= 50_000; t += 5_000) idle.add({ offset: 42, timeMs: t });
    expect(idle.points()).toHaveLength(2); // flat run compressed to first and last point
    expect(idle.lookup(41)).toEqual({ timeMs: 0, method: 'lower_bound' });
    expect(idle.lookup(42)).toBeUndefined();
  });

  it('forgets history when the log end goes backwards (topic recreated)', () => {
    const t = createOffsetTimeTable();
    t.add({ offset: 100, timeMs: 0 });
    t.add({ offset: 5, timeMs: 1_000 });
    expect(t.points()).toEqual([{ offset: 5, timeMs: 1_000 }]);
  });
});

describe('partitionLag', () => {
  const ends = { earliest: 10, latest: 100 };
  it('clamps: committed below log start counts from log start, above log end gives 0', () => {
    expect(partitionLag(3, ends, 0, undefined, undefined).lag).toBe(90);
    expect(partitionLag(120, ends, 0, undefined, undefined)).toMatchObject({ lag: 0, lagSeconds: 0 });
  });
  it('only markers between position and log end → 0 (phantom lag)', () => {
    expect(partitionLag(98, ends, 0, undefined, { kind: 'none', checkedUpTo: 100 })).toMatchObject({ lag: 0, lagSeconds: 0 });
    // an open transaction beyond the LSO still counts
    expect(partitionLag(90, ends, 0, undefined, { kind: 'none', checkedUpTo: 95 }).lag).toBe(5);
  });
  it('exact seconds from the probed record; never NaN without data', () => {
    expect(partitionLag(50, ends, 60_000, undefined, { kind: 'data', offset: 50, timestampMs: 30_000 })).toMatchObject({
      lag: 50,
      lagSeconds: 30,
      lagSecondsMethod: 'exact',
    });
    const r = partitionLag(50, ends, 60_000, undefined, undefined);
    expect(r.lagSeconds).toBe(0);
    expect(Number.isNaN(r.lagSeconds)).toBe(false);
  });
});

describe('scanFetched / resolveProbe (read_committed filtering of a raw fetch)', () => {
  const rec = (offset: number, producerId: string, opts: { control?: 'commit' | 'abort'; tx?: boolean } = {}) => ({
    offset: String(offset),
    timestamp: String(1_000 + offset),
    key: opts.control ? Buffer.from([0, 0, 0, opts.control === 'abort' ? 0 : 1]) : null,
    isControlRecord: opts.control !== undefined,
    batchContext: { producerId, inTransaction: opts.tx ?? true },
  });
  it('skips control markers and aborted records', () => {
    const messages = [rec(4, 'p'), rec(5, 'p', { control: 'commit' }), rec(6, 'p'), rec(7, 'p'), rec(8, 'p', { control: 'abort' }), rec(9, 'p')];
    const abortedTransactions = [{ producerId: 'p', firstOffset: '6' }];
    const range = scanFetched(5, { lastStableOffset: '11', abortedTransactions, messages });
    expect(range).toEqual({ fromOffset: 5, records: [{ offset: 9, timestampMs: 1_009 }], examinedUpTo: 10 });
    expect(resolveProbe(range, 5)).toEqual({ kind: 'data', offset: 9, timestampMs: 1_009 });
    expect(resolveProbe(range, 10)).toEqual({ kind: 'none', checkedUpTo: 10 });
    expect(resolveProbe(range, 4)).toBeUndefined();
    expect(resolveProbe(range, 11)).toBeUndefined();
  });
  it('nothing but markers up to the LSO → none', () => {
    const range = scanFetched(5, { lastStableOffset: '6', messages: [rec(4, 'p'), rec(5, 'p', { control: 'commit' })] });
    expect(resolveProbe(range, 5)).toEqual({ kind: 'none', checkedUpTo: 6 });
    expect(resolveProbe(scanFetched(6, { lastStableOffset: '6', messages: [] }), 6)).toEqual({ kind: 'none', checkedUpTo: 6 });
  });
  it('one fetched batch answers later positions inside it', () => {
    const range = scanFetched(0, { lastStableOffset: '100', messages: Array.from({ length: 100 }, (_, i) => rec(i, 'q', { tx: false })) });
    expect(resolveProbe(range, 57)).toEqual({ kind: 'data', offset: 57, timestampMs: 1_057 });
    expect(resolveProbe(range, 100)).toEqual({ kind: 'none', checkedUpTo: 100 });
  });
});
