import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import { createApiFixture, lagSnapshot, type ApiFixture } from './api-fixture.js';

describe('API edges: keys, rate limits, CORS, read-only role, real socket', () => {
  let f: ApiFixture;
  beforeAll(async () => {
    f = await createApiFixture('api_edges');
  });
  afterAll(async () => f?.close());

  const KEY_A = 'key-a-0123456789abcdef';
  const KEY_B = 'key-b-0123456789abcdef';
  const keyed = (clock: () => number) =>
    f.app({
      clock,
      apiKeys: new Map([
        [KEY_A, { name: 'dashboard', ratePerSecond: 100, burst: 100 }],
        [KEY_B, { name: 'batch-job', ratePerSecond: 2, burst: 3 }],
      ]),
    });
  const auth = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });

  it('requires a bearer key on data routes, not on probes, metrics and the OpenAPI document', async () => {
    const app = keyed(() => 0);
    const missing = await app.request('/inventories/INV-000001');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="api"');
    const wrong = await app.request('/inventories/INV-000001', auth('not-a-key-0123456789'));
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { code: string }).code).toBe('INVALID_API_KEY');
    expect((await app.request('/inventories/INV-000001', { headers: { authorization: `Basic ${KEY_A}` } })).status).toBe(401);
    const ok = await app.request('/inventories/INV-000001', auth(KEY_A));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toMatch(/^private/);
    expect(ok.headers.get('vary')).toMatch(/Authorization/);
    for (const open of ['/healthz', '/readyz', '/metrics', '/openapi.json']) expect((await app.request(open)).status, open).toBe(200);
  });

  it('rate-limits per key: the second key over its rate gets 429 with Retry-After, the first key is unaffected', async () => {
    let now = 1_000_000;
    const app = keyed(() => now);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await app.request('/views/zone-utilisation', auth(KEY_B))).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const limited = await app.request('/views/zone-utilisation', auth(KEY_B));
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(((await limited.json()) as { code: string }).code).toBe('RATE_LIMITED');
    const other = await app.request('/views/zone-utilisation', auth(KEY_A));
    expect(other.status).toBe(200);
    expect(other.headers.get('ratelimit-remaining')).toBe('99');
    expect((await app.request('/lag', auth(KEY_A))).headers.get('ratelimit-remaining')).toBe('98');
    now += 500;
    expect((await app.request('/views/zone-utilisation', auth(KEY_B))).status).toBe(200);
    expect((await app.request('/views/zone-utilisation', auth(KEY_B))).status).toBe(429);
  });

  it('refuses keys that are too short at construction', () => {
    expect(() => f.app({ apiKeys: new Map([['short', { name: 'x', ratePerSecond: 1, burst: 1 }]]) })).toThrow(/too short/);
  });

  it('answers CORS preflights and adds CORS headers for configured origins only', async () => {
    const app = f.app({ cors: { origins: ['https://dash.example.com'] } });
    const preflight = await app.request('/inventories', {
      method: 'OPTIONS',
      headers: { origin: 'https://dash.example.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://dash.example.com');
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/GET/);
    const simple = await app.request('/inventories/INV-000001', { headers: { origin: 'https://dash.example.com' } });
    expect(simple.headers.get('access-control-allow-origin')).toBe('https://dash.example.com');
    expect(simple.headers.get('access-control-expose-headers')).toMatch(/ETag/);
    const other = await app.request('/inventories/INV-000001', { headers: { origin: 'https://evil.example.com' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const noCors = await f.app().request('/inventories/INV-000001', { headers: { origin: 'https://dash.example.com' } });
    expect(noCors.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('the read-only role can read every view but cannot write (permission denied)', async () => {
    await f.reader.query('select count(*) from inventories, view_freshness');
    for (const sql of [
      "insert into inventories (persistence_id, inventory_id, product_id, warehouse_id, zone_id, product_storage_condition, zone_type, on_hand, reserved, last_sequence_nr, last_event_at) values ('x','x','x','x','x','x','x',0,0,0,now())",
      "update view_freshness set last_commit_time = now()",
      'delete from low_stock_alerts',
      'create table api_was_here (id int)',
    ]) {
      await expect(f.reader.query(sql), sql).rejects.toMatchObject({ code: '42501' });
    }
  });

  describe('over a real socket (@hono/node-server, port 0)', () => {
    let server: ApiServer;
    let base: string;
    beforeAll(async () => {
      server = await startApiServer(f.app({ lag: () => lagSnapshot('inventory-projector', { lag: 0, lagSeconds: 0 }) }), { port: 0 });
      base = `http://127.0.0.1:${server.port}`;
    });
    afterAll(async () => server?.close());

    it('serves JSON, problems, 304s and request ids over HTTP/1.1 keep-alive', async () => {
      expect(server.port).toBeGreaterThan(0);
      const res = await fetch(`${base}/inventories/INV-000001`, { headers: { 'x-request-id': 'sock-1' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-request-id')).toBe('sock-1');
      const body = (await res.json()) as { inventoryId: string; consistencyStatus: string };
      expect(body).toMatchObject({ inventoryId: 'INV-000001', consistencyStatus: 'UP_TO_DATE' });
      const cached = await fetch(`${base}/inventories/INV-000001`, { headers: { 'if-none-match': res.headers.get('etag')! } });
      expect(cached.status).toBe(304);
      const bad = await fetch(`${base}/inventories?limit=9999`);
      expect(bad.status).toBe(400);
      expect(bad.headers.get('content-type')).toBe('application/problem+json');
      // A raw, undecodable path still gets a 4xx, never a 500.
      expect((await fetch(`${base}/inventories/%E0%A4%A`)).status).toBe(400);
      const parallel = await Promise.all(Array.from({ length: 40 }, (_, i) => fetch(`${base}/inventories/INV-${String(i + 1).padStart(6, '0')}`)));
      expect(parallel.map((r) => r.status)).toEqual(Array(40).fill(200));
      await Promise.all(parallel.map((r) => r.arrayBuffer()));
    });

    it('close() stops accepting connections', async () => {
      const extra = await startApiServer(f.app(), { port: 0 });
      expect((await fetch(`http://127.0.0.1:${extra.port}/healthz`)).status).toBe(200);
      await extra.close();
      await expect(fetch(`http://127.0.0.1:${extra.port}/healthz`)).rejects.toThrow();
    });
  });
});
