import { describe, expect, it } from 'vitest';
import { describeWitness, judgePosition, witnessOf, type PositionFacts } from '../../src/consumers/offset-witness.js';

const record = (over: Partial<Parameters<typeof witnessOf>[0]> = {}) =>
  witnessOf({
    offset: '403',
    key: Buffer.from('inventory-W1-000052'),
    value: Buffer.from([0, 0, 0, 0, 7, 1, 2, 3]),
    timestamp: '1764000000000',
    headers: { sequence_nr: Buffer.from('4'), cdc_relayed_at: Buffer.from('1764000000123'), event_type: Buffer.from('StockShipped') },
    ...over,
  });

describe('witnessOf', () => {
  it('keeps offset, key and sequence number, and a digest of the whole record', () => {
    const w = record();
    expect(w).toMatchObject({ offset: 403, key: 'inventory-W1-000052', sequenceNr: 4 });
    expect(w.digest).toMatch(/^[0-9a-f]{32}$/);
    expect(describeWitness(w)).toBe('inventory-W1-000052 seq 4 at offset 403');
  });

  it('does not depend on header order, and depends on every byte of the record', () => {
    const w = record();
    const reordered = record({
      headers: { event_type: Buffer.from('StockShipped'), cdc_relayed_at: Buffer.from('1764000000123'), sequence_nr: Buffer.from('4') },
    });
    expect(reordered.digest).toBe(w.digest);
    // The same event relayed again: only the relay time differs.
    expect(record({ headers: { sequence_nr: Buffer.from('4'), cdc_relayed_at: Buffer.from('1764000999999'), event_type: Buffer.from('StockShipped') } }).digest).not.toBe(w.digest);
    expect(record({ timestamp: '1764000000001' }).digest).not.toBe(w.digest);
    expect(record({ value: Buffer.from([0, 0, 0, 0, 7, 1, 2, 4]) }).digest).not.toBe(w.digest);
    expect(record({ key: Buffer.from('inventory-W1-000053') }).digest).not.toBe(w.digest);
    expect(record({ key: null }).key).toBeNull();
    // Field boundaries are part of the digest: moving a byte from the key to the value changes it.
    expect(record({ key: Buffer.from('ab'), value: Buffer.from('c') }).digest).not.toBe(record({ key: Buffer.from('a'), value: Buffer.from('bc') }).digest);
  });

  it('reads a record without a sequence number header as such', () => {
    expect(record({ headers: {} }).sequenceNr).toBeNull();
    expect(record({ headers: { sequence_nr: 'x1' } }).sequenceNr).toBeNull();
    expect(describeWitness(record({ headers: {}, key: null }))).toBe('(no key) at offset 403');
  });
});

describe('judgePosition', () => {
  const w = record();
  const base: PositionFacts = { topic: 'inventory.events', partition: 4, nextOffset: 404, witness: w, logStart: 0, logEnd: 900, atWitness: w };

  it('reads on when the witnessed record is still at its offset', () => {
    expect(judgePosition(base)).toEqual({ ok: true, verified: true });
    expect(judgePosition({ ...base, nextOffset: 900, logEnd: 900 })).toEqual({ ok: true, verified: true });
  });

  it('blocks below the log start: retention deleted records never applied', () => {
    const v = judgePosition({ ...base, nextOffset: 10, logStart: 250 });
    expect(v).toEqual({
      ok: false,
      kind: 'below-log-start',
      reason: 'inventory.events/4: records 10..249 were deleted from the topic before this group applied them (stored offset 10, log start 250)',
    });
  });

  it('blocks beyond the log end: the offset was stored for another topic', () => {
    const v = judgePosition({ ...base, logEnd: 300, atWitness: undefined });
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.kind).toBe('beyond-log-end');
    expect(v.reason).toBe(
      'inventory.events/4: the stored offset 404 (after inventory-W1-000052 seq 4 at offset 403) lies beyond the topic\'s log end 300; ' +
        'likely the topic was deleted and created again, the pipeline moved to another cluster, or the database was restored from elsewhere',
    );
  });

  it('blocks when another record sits at the witnessed offset, naming both', () => {
    const other = record({ key: Buffer.from('inventory-W3-000911'), headers: { sequence_nr: Buffer.from('1') } });
    const v = judgePosition({ ...base, atWitness: other });
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.kind).toBe('other-record');
    expect(v.reason).toContain('the group applied inventory-W1-000052 seq 4 at offset 403 before its stored offset 404, but the topic now holds inventory-W3-000911 seq 1 at offset 403');
  });

  it('names a relayed copy of the same event as such', () => {
    const copy = record({ headers: { sequence_nr: Buffer.from('4'), cdc_relayed_at: Buffer.from('1765000000000') } });
    const v = judgePosition({ ...base, atWitness: copy });
    expect(!v.ok && v.reason).toContain('now holds inventory-W1-000052 seq 4 at offset 403 with other bytes (relayed again)');
  });

  it('blocks when no committed record is at the offset any more', () => {
    const later = witnessOf({ offset: '410', key: Buffer.from('k'), value: null, timestamp: '1', headers: {} });
    const a = judgePosition({ ...base, atWitness: later });
    expect(!a.ok && a.reason).toContain('now holds no committed record there (the next one is k at offset 410)');
    const b = judgePosition({ ...base, atWitness: null });
    expect(!b.ok && b.reason).toContain('now holds no committed record there;');
  });

  it('accepts what it cannot check: no witness, a witness deleted by retention, or not read', () => {
    expect(judgePosition({ ...base, witness: null, atWitness: undefined })).toEqual({ ok: true, verified: false });
    expect(judgePosition({ ...base, logStart: 404, atWitness: undefined })).toEqual({ ok: true, verified: false });
    expect(judgePosition({ ...base, atWitness: undefined })).toEqual({ ok: true, verified: false });
  });
});
