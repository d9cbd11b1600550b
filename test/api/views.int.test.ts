import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { PipelineError } from '../../src/shared/errors.js';
import { NOW, THRESHOLDS, createApiFixture, lagSnapshot, type ApiFixture } from './api-fixture.js';

interface ViewAnswer<T> {
  data: T[];
  nextCursor?: string | null;
  freshness: { view: string; lastSourceTime: string | null; lastCommitTime: string | null; lagSeconds: number | null; consistencyStatus: string };
}

describe('views, alerts, lag and operations routes (real PostgreSQL)', () => {
  let f: ApiFixture;
  beforeAll(async () => {
    f = await createApiFixture('api_views');
  });
  afterAll(async () => f?.close());

  const get = async <T>(app: ReturnType<ApiFixture['app']>, url: string) => {
    const res = await app.request(url);
    return { status: res.status, headers: res.headers, body: (await res.json()) as T };
  };

  it('serves every aggregated view with its own freshness', async () => {
    const app = f.app({ lag: () => lagSnapshot('inventory-views', { lag: 0, lagSeconds: 0 }) });
    const byZone = await get<ViewAnswer<{ warehouseId: string; onHand: number; available: number }>>(app, '/views/stock-by-warehouse-zone');
    expect(byZone.status).toBe(200);
    const { rows } = await f.db.pool.query<{ s: number }>('select sum(on_hand)::int s from inventories');
    expect(byZone.body.data.reduce((s, r) => s + r.onHand, 0)).toBe(rows[0]!.s);
    expect(byZone.body.freshness).toEqual({
      view: 'stock_by_warehouse_zone',
      lastSourceTime: new Date(NOW - 600).toISOString(),
      lastCommitTime: new Date(NOW - 300).toISOString(),
      lagSeconds: 0.3,
      lagBasis: 'canary',
      consistencyStatus: 'UP_TO_DATE',
    });
    const tokyo = await get<ViewAnswer<{ warehouseId: string }>>(app, '/views/stock-by-warehouse-zone?warehouse=WH-TYO');
    expect(new Set(tokyo.body.data.map((r) => r.warehouseId))).toEqual(new Set(['WH-TYO']));

    const byCategory = await get<ViewAnswer<{ category: string; storageCondition: string }>>(app, '/views/stock-by-category-condition?category=FOOD');
    expect(byCategory.body.data.map((r) => r.storageCondition).sort()).toEqual(['AMBIENT', 'CHILLED', 'FROZEN']);
    expect(byCategory.body.freshness.view).toBe('stock_by_category_condition');

    // zone_utilisation is a SQL view: it inherits stock_by_warehouse_zone's freshness.
    const util = await get<ViewAnswer<{ zoneId: string; utilisation: number; capacityUnits: number; onHand: number }>>(app, '/views/zone-utilisation');
    expect(util.body.data).toHaveLength(9);
    for (const z of util.body.data) expect(z.utilisation).toBeCloseTo(z.onHand / z.capacityUnits, 5);
    expect(util.body.freshness.view).toBe('zone_utilisation');
    expect(util.body.freshness.lastSourceTime).toBe(new Date(NOW - 600).toISOString());
  });

  it('serves daily movements for a date range, paginated, and refuses bad ranges', async () => {
    const app = f.app();
    const days = await get<ViewAnswer<{ day: string; movementType: string }>>(app, '/views/daily-movements?from=2026-01-10&to=2026-01-11');
    // 2 days × 3 ambient zones × 3 movement types
    expect(days.body.data).toHaveLength(18);
    expect(new Set(days.body.data.map((r) => r.day))).toEqual(new Set(['2026-01-10', '2026-01-11']));
    // Default range: the 7 days up to today (the injected clock's 2026-01-15): 9..14 have data.
    const recent = await get<ViewAnswer<{ day: string }>>(app, '/views/daily-movements');
    expect(new Set(recent.body.data.map((r) => r.day)).size).toBe(6);

    const paged: string[] = [];
    let cursor: string | null | undefined = null;
    do {
      const page: { body: ViewAnswer<{ day: string; zoneId: string; movementType: string }> } = await get(
        app,
        `/views/daily-movements?from=2026-01-01&to=2026-01-14&movementType=SHIPMENT&limit=4${cursor ? `&cursor=${cursor}` : ''}`,
      );
      paged.push(...page.body.data.map((r) => `${r.day}/${r.zoneId}/${r.movementType}`));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(paged).toHaveLength(14 * 3);
    expect(new Set(paged).size).toBe(paged.length);
    expect([...paged].sort()).toEqual(paged);

    for (const [query, name] of [
      ['from=2026-01-12&to=2026-01-11', 'from'],
      ['from=2024-01-01&to=2026-01-11', 'to'],
      ['from=2026-02-30', 'from'],
      ['from=0000-01-01', 'from'],
      ['to=20260101', 'to'],
      ['movementType=THEFT', 'movementType'],
    ] as const) {
      const res = await get<{ errors: { name: string }[] }>(app, `/views/daily-movements?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.errors[0]!.name, query).toBe(name);
    }
    expect((await app.request('/views/daily-movements?from=2025-01-15&to=2026-01-15')).status).toBe(200);
  });

  it('serves stock by category over time: the running sum of the daily changes, the days before the range included', async () => {
    await f.db.pool.query(
      `insert into stock_by_category_daily (category, storage_condition, day, on_hand_change, reserved_change, inventory_count_change)
       values ('FOOD', 'CHILLED', '2026-01-02', 100, 10, 4), ('FOOD', 'CHILLED', '2026-01-05', -30, -10, 0),
              ('FOOD', 'CHILLED', '2026-01-12', 5, 2, 1), ('DAILY_GOODS', 'AMBIENT', '2026-01-05', 40, 0, 2)`,
    );
    await f.db.pool.query(
      `insert into view_freshness (view_name, group_id, last_source_time, last_event_time, last_commit_time)
       values ('stock_by_category_daily', 'inventory-views', $1, $1, $2)`,
      [new Date(NOW - 600), new Date(NOW - 300)],
    );
    const app = f.app();
    type Day = { day: string; category: string; storageCondition: string; onHand: number; reserved: number; available: number; inventoryCount: number };
    const url = '/views/stock-by-category-history';
    const range = await get<ViewAnswer<Day>>(app, `${url}?to=2026-01-14&days=10`);
    expect(range.status).toBe(200);
    expect(range.body.data).toEqual([
      { day: '2026-01-05', category: 'DAILY_GOODS', storageCondition: 'AMBIENT', onHand: 40, reserved: 0, available: 40, inventoryCount: 2, onHandChange: 40, reservedChange: 0, inventoryCountChange: 2 },
      { day: '2026-01-05', category: 'FOOD', storageCondition: 'CHILLED', onHand: 70, reserved: 0, available: 70, inventoryCount: 4, onHandChange: -30, reservedChange: -10, inventoryCountChange: 0 },
      { day: '2026-01-12', category: 'FOOD', storageCondition: 'CHILLED', onHand: 75, reserved: 2, available: 73, inventoryCount: 5, onHandChange: 5, reservedChange: 2, inventoryCountChange: 1 },
    ]);
    expect(range.body.freshness).toMatchObject({ view: 'stock_by_category_daily', lastSourceTime: new Date(NOW - 600).toISOString() });
    // Default: the 30 days up to today (the injected clock's 2026-01-15); filters by category and condition.
    const food = await get<ViewAnswer<Day>>(app, `${url}?category=FOOD&storageCondition=CHILLED`);
    expect(food.body.data.map((r) => [r.day, r.onHand, r.reserved])).toEqual([['2026-01-02', 100, 10], ['2026-01-05', 70, 0], ['2026-01-12', 75, 2]]);
    const one = await get<ViewAnswer<Day>>(app, `${url}?to=2026-01-04&days=1`);
    expect(one.body.data).toEqual([]);
    for (const [query, name] of [['days=0', 'days'], ['days=367', 'days'], ['to=2026-02-30', 'to'], ['category=TOYS', 'category'], ['from=2026-01-01', 'from']] as const) {
      const res = await get<{ errors: { name: string }[] }>(app, `${url}?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.errors[0]!.name, query).toBe(name);
    }
  });

  it('lists open low-stock alerts by default and history with status=closed|all', async () => {
    const app = f.app();
    type Alert = { alertId: number; open: boolean; closedAt: string | null };
    const open = await get<ViewAnswer<Alert>>(app, '/alerts/low-stock');
    const { rows } = await f.db.pool.query<{ open: number; closed: number }>(
      'select count(*) filter (where closed_at is null)::int open, count(*) filter (where closed_at is not null)::int closed from low_stock_alerts',
    );
    expect(open.body.data).toHaveLength(rows[0]!.open);
    expect(open.body.data.every((a) => a.open && a.closedAt === null)).toBe(true);
    expect(open.body.freshness.view).toBe('low_stock_alerts');
    const closed = await get<ViewAnswer<Alert>>(app, '/alerts/low-stock?status=closed');
    expect(closed.body.data).toHaveLength(rows[0]!.closed);
    expect(closed.body.data.every((a) => !a.open)).toBe(true);

    const all: Alert[] = [];
    let cursor: string | null | undefined = null;
    do {
      const page: { body: ViewAnswer<Alert> } = await get(app, `/alerts/low-stock?status=all&limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      all.push(...page.body.data);
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(all).toHaveLength(rows[0]!.open + rows[0]!.closed);
    expect(all.map((a) => a.alertId)).toEqual([...all.map((a) => a.alertId)].sort((a, b) => b - a));
    expect((await app.request('/alerts/low-stock?status=pending')).status).toBe(400);
  });

  it('serves /lag from the monitor, and 503 with a clear body when the monitor is not running or not polled yet', async () => {
    const snapshot = lagSnapshot('inventory-projector', { lag: 12, lagSeconds: 1.5 });
    const withMonitor = await get<{ groups: { group: string; topics: { partitions: { lag: number }[] }[] }[] }>(f.app({ lag: () => snapshot }), '/lag');
    expect(withMonitor.status).toBe(200);
    expect(withMonitor.body.groups[0]!.topics[0]!.partitions[0]!.lag).toBe(12);
    const none = await get<{ code: string; detail: string }>(f.app(), '/lag');
    expect(none.status).toBe(503);
    expect(none.body).toMatchObject({ code: 'LAG_MONITOR_NOT_RUNNING', detail: expect.stringMatching(/lag monitor does not run/) });
    const early = await f.app({ lag: () => undefined }).request('/lag');
    expect(early.status).toBe(503);
    expect(early.headers.get('retry-after')).toBe('5');
  });

  it('/healthz is always 200; /readyz names the failing check and fails on views stale beyond the bound', async () => {
    expect((await f.app().request('/healthz')).status).toBe(200);
    const kafka = { name: 'kafka', check: () => Promise.reject(new Error('broker 127.0.0.1:9092 unreachable')) };
    const down = await get<{ status: string; checks: { name: string; ok: boolean; error?: string }[] }>(
      f.app({ readiness: { checks: [kafka] } }),
      '/readyz',
    );
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('not_ready');
    expect(down.body.checks.find((c) => c.name === 'kafka')).toMatchObject({ ok: false, error: 'broker 127.0.0.1:9092 unreachable' });
    expect(down.body.checks.find((c) => c.name === 'database')).toMatchObject({ ok: true });

    const hanging = { name: 'slow', check: () => new Promise<void>(() => undefined) };
    const slow = await get<{ checks: { name: string; error?: string }[] }>(f.app({ readiness: { checks: [hanging], timeoutMs: 50 } }), '/readyz');
    expect(slow.status).toBe(503);
    expect(slow.body.checks.find((c) => c.name === 'slow')!.error).toMatch(/no answer within 50 ms/);

    let snapshot = lagSnapshot('inventory-views', { lag: 100, lagSeconds: 90 });
    const app = f.app({ lag: () => snapshot, readyMaxStalenessMs: 60_000, readiness: { checks: [{ name: 'kafka', check: async () => undefined }] } });
    const stale = await get<{ checks: { name: string; ok: boolean; error?: string }[] }>(app, '/readyz');
    expect(stale.status).toBe(503);
    expect(stale.body.checks.find((c) => c.name === 'views')!.error).toMatch(/stock_by_warehouse_zone 90 s behind/);
    snapshot = lagSnapshot('inventory-views', { lag: 0, lagSeconds: 0 });
    expect((await app.request('/readyz')).status).toBe(200);
  });

  it('exports HTTP metrics by route pattern and the OpenAPI document of every route', async () => {
    const metrics = new Registry();
    const app = f.app({ metrics });
    await app.request('/inventories/INV-000001');
    await app.request('/inventories/INV-000002');
    await app.request('/inventories?limit=oops');
    await app.request('/no/such/path/123');
    const text = await (await app.request('/metrics')).text();
    expect(text).toContain('http_requests_total{route="/inventories/:id",method="GET",status="200"} 2');
    expect(text).toContain('http_requests_total{route="/inventories",method="GET",status="400"} 1');
    expect(text).toContain('http_requests_total{route="unmatched",method="GET",status="404"} 1');
    expect(text).toMatch(/http_request_duration_seconds_bucket\{le="0.01",route="\/inventories\/:id",method="GET"\}/);
    // A second app on the same registry reuses the metrics instead of failing to register them.
    expect(() => f.app({ metrics })).not.toThrow();

    const doc = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<string, { get: { parameters?: { name: string; in: string }[]; responses: Record<string, unknown> } }>;
    };
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/alerts/low-stock',
        '/healthz',
        '/inventories',
        '/inventories/{id}',
        '/inventories/{id}/movements',
        '/lag',
        '/metrics',
        '/readyz',
        '/views/daily-movements',
        '/views/stock-by-category-condition',
        '/views/stock-by-category-history',
        '/views/stock-by-warehouse-zone',
        '/views/zone-utilisation',
      ].sort(),
    );
    const list = doc.paths['/inventories']!.get;
    expect(list.parameters!.map((p) => p.name).sort()).toEqual(
      ['belowThreshold', 'category', 'cursor', 'limit', 'product', 'storageCondition', 'warehouse', 'zone'].sort(),
    );
    expect(Object.keys(doc.paths['/inventories/{id}']!.get.responses)).toEqual(expect.arrayContaining(['200', '304', '400', '404']));
    // The document carries the very constraints the validators enforce.
    const param = (path: string, name: string) =>
      (doc.paths[path]!.get.parameters as unknown as { name: string; schema: Record<string, unknown> }[]).find((p) => p.name === name)!.schema;
    expect(param('/inventories', 'limit')).toMatchObject({ type: 'integer', minimum: 1, maximum: 200 });
    expect(param('/views/daily-movements', 'limit')).toMatchObject({ maximum: 1000 });
    expect(param('/inventories', 'warehouse')).toMatchObject({ pattern: '^WH-[A-Z]{3}$' });
    expect(param('/alerts/low-stock', 'status')).toMatchObject({ enum: ['open', 'closed', 'all'] });
  });

  it('carries the request id in and out and into the logs; a failure is a 500 without internals, logged with the id', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const logger = pino({ level: 'info' }, sink);
    const broken = { query: () => Promise.reject(new PipelineError('BUG', 'relation "secret_internal_table" does not exist')) };
    const app = createApp({ pool: broken, logger, metrics: new Registry(), readiness: { checks: [] }, staleness: THRESHOLDS, clock: () => NOW });
    const res = await app.request('/inventories/INV-000001', { headers: { 'x-request-id': 'req-abc-123' } });
    expect(res.status).toBe(500);
    expect(res.headers.get('x-request-id')).toBe('req-abc-123');
    const text = await res.text();
    expect(text).not.toMatch(/secret_internal_table|at .*\.ts|stack/);
    expect(JSON.parse(text)).toMatchObject({ status: 500, requestId: 'req-abc-123', detail: expect.stringMatching(/internal error/) });
    await new Promise((r) => setImmediate(r));
    const errorLine = lines.find((l) => l.msg === 'request failed');
    expect(errorLine).toMatchObject({ requestId: 'req-abc-123', level: 50 });
    expect(JSON.stringify(errorLine)).toMatch(/secret_internal_table/);
    expect(lines.find((l) => l.msg === 'request')).toMatchObject({ requestId: 'req-abc-123', status: 500, route: '/inventories/:id' });

    const generated = await app.request('/healthz', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    const down = { query: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })) };
    const unavailable = await createApp({ pool: down, logger, metrics: new Registry(), readiness: { checks: [] }, staleness: THRESHOLDS }).request('/views/zone-utilisation');
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get('retry-after')).toBe('1');
  });

  it('refuses writes with 405 and unknown routes with 404, both as problem+json', async () => {
    const app = f.app();
    const post = await app.request('/inventories', { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(post.headers.get('content-type')).toBe('application/problem+json');
    const head = await app.request('/inventories/INV-000001', { method: 'HEAD' });
    expect(head.status).toBe(200);
  });
});
