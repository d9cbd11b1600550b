import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createCursorCodec, filterScope } from '../../src/api/cursor.js';
import { ApiError } from '../../src/api/errors.js';

const codec = createCursorCodec({ secret: 'test-secret' });
const keySchema = z.object({ id: z.string(), n: z.number().int() });

const refusal = (fn: () => unknown): ApiError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
};

describe('cursor codec', () => {
  it('round-trips any key for the same kind and scope', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer(), fc.string(), (id, n, scope) => {
        const token = codec.encode('things', { id, n }, scope);
        expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(codec.decode('things', token, keySchema, scope)).toEqual({ id, n });
      }),
    );
  });

  it('refuses every single-character edit of a token with a 400 naming the cursor', () => {
    const token = codec.encode('things', { id: 'inventory-INV-000042', n: 7 }, filterScope({ warehouseId: 'WH-TYO' }));
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    fc.assert(
      fc.property(fc.nat(token.length - 1), fc.constantFrom(...alphabet), (pos, ch) => {
        fc.pre(token[pos] !== ch);
        const edited = token.slice(0, pos) + ch + token.slice(pos + 1);
        let decoded: unknown;
        try {
          decoded = codec.decode('things', edited, keySchema, filterScope({ warehouseId: 'WH-TYO' }));
        } catch (err) {
          expect(err).toBeInstanceOf(ApiError);
          expect((err as ApiError).status).toBe(400);
          expect((err as ApiError).problems[0]).toMatchObject({ in: 'query', name: 'cursor' });
          return;
        }
        // Base64url's last character carries unused bits: an edit there can decode to the same bytes.
        expect(decoded).toEqual({ id: 'inventory-INV-000042', n: 7 });
      }),
      { numRuns: 500 },
    );
  });

  it('refuses garbage, another listing, other filters, another secret and invalid keys', () => {
    const scope = filterScope({ a: 1 });
    const token = codec.encode('things', { id: 'x', n: 1 }, scope);
    expect(refusal(() => codec.decode('things', '', keySchema, scope)).message).toMatch(/cursor/);
    expect(refusal(() => codec.decode('things', 'not base64!', keySchema, scope)).status).toBe(400);
    expect(refusal(() => codec.decode('things', Buffer.from('{"v":1}').toString('base64url'), keySchema, scope)).status).toBe(400);
    expect(refusal(() => codec.decode('others', token, keySchema, scope)).message).toMatch(/another listing/);
    expect(refusal(() => codec.decode('things', token, keySchema, filterScope({ a: 2 }))).message).toMatch(/different filters/);
    expect(refusal(() => createCursorCodec({ secret: 'other' }).decode('things', token, keySchema, scope)).message).toMatch(/modified/);
    const wrongKey = codec.encode('things', { id: 5 }, scope);
    expect(refusal(() => codec.decode('things', wrongKey, keySchema, scope)).message).toMatch(/not valid/);
    expect(refusal(() => codec.decode('things', 'A'.repeat(5000), keySchema, scope)).status).toBe(400);
  });

  it('fingerprints filters independently of key order and undefined values', () => {
    expect(filterScope({ b: 1, a: 'x', c: undefined })).toBe(filterScope({ a: 'x', b: 1 }));
    expect(filterScope({ a: new Date(0) })).toBe(filterScope({ a: '1970-01-01T00:00:00.000Z' }));
    expect(filterScope({ a: 1 })).not.toBe(filterScope({ a: 2 }));
  });
});
