import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { invalidParameter } from './errors.js';

/**
 * Opaque keyset-pagination cursors: base64url of a small JSON envelope
 * `{ v, k: kind, a: last sort key, s: scope, m: mac }`.
 *
 * The MAC (HMAC-SHA256 over the rest, truncated) makes any edit of the token
 * detectable, so a tampered or truncated cursor is a 400 rather than a page
 * that silently starts somewhere else. `scope` binds a cursor to the filters
 * it was issued for: reusing it with other filters is also a 400. Cursors stay
 * valid across processes and restarts that share the secret.
 */
export interface CursorCodec {
  encode(kind: string, key: unknown, scope: string): string;
  /** The key of a cursor issued by `encode` for the same kind and scope; throws a 400 ApiError otherwise. */
  decode<K>(kind: string, token: string, keySchema: z.ZodType<K>, scope: string): K;
}

const MAX_TOKEN_LENGTH = 2048;
const envelopeSchema = z.object({ v: z.literal(1), k: z.string(), a: z.unknown(), s: z.string(), m: z.string() }).strict();

export function createCursorCodec({ secret = 'ddb-cdc-pipeline-cursor-v1' }: { secret?: string } = {}): CursorCodec {
  if (secret.length === 0) throw new Error('cursor secret must not be empty');
  const mac = (kind: string, key: unknown, scope: string) =>
    createHmac('sha256', secret).update(JSON.stringify([1, kind, key, scope])).digest().subarray(0, 12).toString('base64url');
  const bad = (why: string) => invalidParameter('query', 'cursor', why);

  return {
    encode(kind, key, scope) {
      const envelope = { v: 1, k: kind, a: key, s: scope, m: mac(kind, key, scope) };
      return Buffer.from(JSON.stringify(envelope), 'utf8').toString('base64url');
    },
    decode(kind, token, keySchema, scope) {
      if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) {
        throw bad('not a cursor issued by this API (expected an opaque base64url token)');
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
      } catch {
        throw bad('not a cursor issued by this API (undecodable)');
      }
      const envelope = envelopeSchema.safeParse(parsed);
      if (!envelope.success) throw bad('not a cursor issued by this API (unexpected content)');
      const { k, a, s, m } = envelope.data;
      const expected = Buffer.from(mac(k, a, s), 'utf8');
      const given = Buffer.from(m, 'utf8');
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
        throw bad('cursor was modified (integrity check failed)');
      }
      if (k !== kind) throw bad(`cursor belongs to another listing (${k})`);
      if (s !== scope) throw bad('cursor was issued for different filters; start again without a cursor');
      const key = keySchema.safeParse(a);
      if (!key.success) throw bad('cursor content is not valid for this listing');
      return key.data;
    },
  };
}

/** A stable, short fingerprint of the filters of a listing (the cursor's scope). */
export function filterScope(filters: Record<string, unknown>): string {
  const entries = Object.entries(filters)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(entries.map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v]));
}
