import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import type { Queryable } from '../../src/db/queries/queryable.js';
import { silentLogger } from '../../src/shared/logger.js';

/** A database that never answers (frozen, no server-side timeout can fire) and counts its callers. */
function hangingDb(): { pool: Queryable; calls: () => number } {
  let calls = 0;
  const pool: Queryable = {
    query: () => {
      calls++;
      return new Promise<never>(() => undefined);
    },
  };
  return { pool, calls: () => calls };
}

const app = (pool: Queryable, requestTimeoutMs: number) =>
  createApp({
    pool,
    logger: silentLogger(),
    metrics: new Registry(),
    readiness: { checks: [], timeoutMs: 50 },
    staleness: { upToDateMs: 1000, slightlyStaleMs: 5000 },
    requestTimeoutMs,
  });

describe('request deadline (API_REQUEST_TIMEOUT_MS)', () => {
  it('answers a request whose query never returns with 503 problem+json, Retry-After, within the budget', async () => {
    const db = hangingDb();
    const started = performance.now();
    const res = await app(db.pool, 200).request('/inventories?limit=5');
    const ms = performance.now() - started;
    expect(db.calls()).toBeGreaterThan(0);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('retry-after')).toBe('1');
    const body = (await res.json()) as { code: string; status: number; detail: string };
    expect(body).toMatchObject({ code: 'TIMEOUT', status: 503 });
    expect(body.detail).toContain('200 ms');
    expect(ms).toBeGreaterThanOrEqual(190);
    expect(ms).toBeLessThan(200 + 3_000);
  });

  it('does not touch answers that come in time', async () => {
    const res = await app(hangingDb().pool, 200).request('/healthz');
    expect(res.status).toBe(200);
  });

  it('refuses a budget that is not positive', () => {
    expect(() => app(hangingDb().pool, 0)).toThrow(RangeError);
  });
});
