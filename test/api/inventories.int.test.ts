import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INVENTORY_COUNT, MOVEMENT_COUNT, NOW, createApiFixture, invId, lagSnapshot, type ApiFixture } from './api-fixture.js';

interface Page<T> {
  data: T[];
  nextCursor: string | null;
  freshness: { view: string; lagSeconds: number | null; consistencyStatus: string; lagBasis: string };
}
interface Inventory {
  inventoryId: string;
  persistenceId: string;
  warehouseId: string;
  zoneId: string;
  productId: string;
  productStorageCondition: string;
  available: number;
}

describe('inventory routes (real PostgreSQL, read-only role)', () => {
  let f: ApiFixture;
  beforeAll(async () => {
    f = await createApiFixture('api_inv');
  });
  afterAll(async () => f?.close());

  const getJson = async <T>(app: ReturnType<ApiFixture['app']>, url: string, init?: RequestInit): Promise<{ status: number; body: T; headers: Headers }> => {
    const res = await app.request(url, init);
    return { status: res.status, body: (await res.json()) as T, headers: res.headers };
  };

  describe('GET /inventories/:id', () => {
    it('answers by inventory id and by persistence id with lastEventAt, lastUpdatedAt, lagSeconds and consistencyStatus', async () => {
      const app = f.app();
      const a = await getJson<Record<string, unknown>>(app, '/inventories/INV-000001');
      const b = await getJson<Record<string, unknown>>(app, '/inventories/inventory-INV-000001');
      expect(a.status).toBe(200);
      expect(b.body).toEqual(a.body);
      expect(a.body).toMatchObject({
        inventoryId: 'INV-000001',
        persistenceId: 'inventory-INV-000001',
        onHand: 101,
        reserved: 10,
        available: 91,
        lastEventAt: new Date(NOW - 60_001).toISOString(),
        lastUpdatedAt: new Date(NOW - 59_701).toISOString(),
        // the newest canary heartbeat is 300 ms overdue (fixture)
        lagSeconds: 0.3,
        consistencyStatus: 'UP_TO_DATE',
        freshness: { view: 'inventories', lagBasis: 'canary' },
      });
      expect(a.headers.get('content-type')).toMatch(/^application\/json/);
    });

    it('answers concurrent requests (one batched statement) exactly as it answers them one by one', async () => {
      const app = f.app();
      const urls = ['INV-000001', 'INV-000002', 'INV-000001', 'inventory-INV-000003', 'INV-999999', 'INV-000004'].map((id) => `/inventories/${id}`);
      const answer = ({ status, body, headers }: { status: number; body: unknown; headers: Headers }) => ({ status, body, etag: headers.get('etag') });
      const alone: ReturnType<typeof answer>[] = [];
      const init = (i: number) => ({ headers: { 'x-request-id': `batch-${i}` } });
      for (const [i, url] of urls.entries()) alone.push(answer(await getJson(app, url, init(i))));
      const together = (await Promise.all(urls.map((url, i) => getJson(app, url, init(i))))).map(answer);
      expect(together.map((r) => r.status)).toEqual([200, 200, 200, 200, 404, 200]);
      expect(together).toEqual(alone);
    });

    it('moves UP_TO_DATE → SLIGHTLY_STALE → STALE → UP_TO_DATE as the projector group falls behind and catches up', async () => {
      let snapshot = lagSnapshot('inventory-projector', { lag: 0, lagSeconds: 0 });
      const app = f.app({ lag: () => snapshot });
      const status = async () => (await getJson<{ consistencyStatus: string; lagSeconds: number }>(app, '/inventories/INV-000002')).body;
      expect(await status()).toMatchObject({ consistencyStatus: 'UP_TO_DATE', lagSeconds: 0.3 });
      snapshot = lagSnapshot('inventory-projector', { lag: 40, lagSeconds: 3.5 });
      expect(await status()).toMatchObject({ consistencyStatus: 'SLIGHTLY_STALE', lagSeconds: 3.5 });
      snapshot = lagSnapshot('inventory-projector', { lag: 4000, lagSeconds: 42 });
      expect(await status()).toMatchObject({ consistencyStatus: 'STALE', lagSeconds: 42 });
      // Behind, but the monitor could not date the oldest record: now − the view's newest applied source time (600 ms).
      snapshot = lagSnapshot('inventory-projector', { lag: 10, lagSeconds: null });
      expect(await status()).toMatchObject({ consistencyStatus: 'UP_TO_DATE', lagSeconds: 0.6 });
      snapshot = lagSnapshot('inventory-projector', { lag: 0, lagSeconds: 0 });
      expect(await status()).toMatchObject({ consistencyStatus: 'UP_TO_DATE', lagSeconds: 0.3 });
      // A snapshot older than lagMaxAgeMs says nothing about now: the canary still does.
      const old = f.app({ lag: () => lagSnapshot('inventory-projector', { lag: 4000, lagSeconds: 42 }, 20_000), lagMaxAgeMs: 15_000 });
      expect((await getJson<{ freshness: { lagBasis: string } }>(old, '/inventories/INV-000002')).body.freshness.lagBasis).toBe('canary');
      // Without the canary nothing sees the bridge: the last applied delay, and never UP_TO_DATE.
      const blind = f.app({ canaryIntervalMs: 0, lag: () => lagSnapshot('inventory-projector', { lag: 4000, lagSeconds: 42 }, 20_000), lagMaxAgeMs: 15_000 });
      expect((await getJson<{ consistencyStatus: string; freshness: { lagBasis: string } }>(blind, '/inventories/INV-000002')).body).toMatchObject({
        consistencyStatus: 'SLIGHTLY_STALE',
        freshness: { lagBasis: 'last-applied' },
      });
      // The canary stopped arriving (a stage is down) while the group looks caught up: STALE.
      const stopped = f.app({ clock: () => NOW + 10_000, lag: () => lagSnapshot('inventory-projector', { lag: 0, lagSeconds: 0 }, -10_000) });
      expect((await getJson<{ consistencyStatus: string; lagSeconds: number }>(stopped, '/inventories/INV-000002')).body).toMatchObject({
        consistencyStatus: 'STALE',
        lagSeconds: 10.3,
      });
    });

    it('sends a weak ETag and a Cache-Control bounded by freshness; If-None-Match → 304', async () => {
      let snapshot = lagSnapshot('inventory-projector', { lag: 0, lagSeconds: 0 });
      const app = f.app({ lag: () => snapshot });
      const first = await app.request('/inventories/INV-000003');
      const etag = first.headers.get('etag')!;
      expect(etag).toMatch(/^W\/"/);
      expect(first.headers.get('cache-control')).toBe('public, max-age=0, must-revalidate');
      const again = await app.request('/inventories/INV-000003', { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');
      expect(again.headers.get('etag')).toBe(etag);

      snapshot = lagSnapshot('inventory-projector', { lag: 10, lagSeconds: 2 });
      const slightly = await app.request('/inventories/INV-000003', { headers: { 'if-none-match': etag } });
      expect(slightly.status).toBe(200);
      expect(slightly.headers.get('cache-control')).toBe('public, no-cache');
      snapshot = lagSnapshot('inventory-projector', { lag: 10, lagSeconds: 20 });
      expect((await app.request('/inventories/INV-000003')).headers.get('cache-control')).toBe('no-store');
    });

    it('answers 404 problem+json for an unknown id and 400 for a malformed one', async () => {
      const app = f.app();
      const missing = await getJson<{ status: number; code: string; detail: string }>(app, '/inventories/INV-999999');
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toBe('application/problem+json');
      expect(missing.body).toMatchObject({ status: 404, code: 'NOT_FOUND', detail: 'inventory INV-999999 not found' });
      const bad = await getJson<{ errors: unknown[] }>(app, '/inventories/' + encodeURIComponent("x' or 1=1 --"));
      expect(bad.status).toBe(400);
      expect(bad.body.errors).toEqual([{ in: 'path', name: 'id', message: expect.stringMatching(/inventory id/) }]);
    });
  });

  describe('GET /inventories', () => {
    const walk = async (app: ReturnType<ApiFixture['app']>, query: string) => {
      const all: Inventory[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const url: string = `/inventories?${query}${cursor ? `&cursor=${cursor}` : ''}`;
        const { status, body } = await getJson<Page<Inventory>>(app, url);
        expect(status).toBe(200);
        all.push(...body.data);
        cursor = body.nextCursor;
        pages++;
      } while (cursor && pages < 100);
      return { all, pages };
    };

    it('pages through every inventory once, in persistence id order, with the default and explicit limits', async () => {
      const app = f.app();
      const { all, pages } = await walk(app, 'limit=7');
      expect(pages).toBe(Math.ceil(INVENTORY_COUNT / 7));
      expect(all.map((i) => i.inventoryId)).toEqual(Array.from({ length: INVENTORY_COUNT }, (_, i) => invId(i + 1)));
      const first = await getJson<Page<Inventory>>(app, '/inventories');
      expect(first.body.data).toHaveLength(50);
      expect(first.body.freshness).toMatchObject({ view: 'inventories', consistencyStatus: 'UP_TO_DATE' });
    });

    it('keeps keyset pages stable when rows are inserted before the cursor', async () => {
      const app = f.app();
      const page1 = await getJson<Page<Inventory>>(app, '/inventories?limit=5');
      await f.db.pool.query(
        `insert into inventories (persistence_id, inventory_id, product_id, warehouse_id, zone_id, product_storage_condition,
           zone_type, on_hand, reserved, last_sequence_nr, last_event_at, updated_at)
         select 'inventory-INV-000000', 'INV-000000', product_id, warehouse_id, zone_id, product_storage_condition, zone_type,
                1, 0, 1, now(), now() from inventories where inventory_id = 'INV-000001'`,
      );
      try {
        const page2 = await getJson<Page<Inventory>>(app, `/inventories?limit=5&cursor=${page1.body.nextCursor}`);
        expect(page2.body.data.map((i) => i.inventoryId)).toEqual([6, 7, 8, 9, 10].map(invId));
      } finally {
        await f.db.pool.query("delete from inventories where inventory_id = 'INV-000000'");
      }
    });

    it('filters by warehouse, zone, product, category, storage condition and below-threshold', async () => {
      const app = f.app();
      const expectSet = async (query: string, sql: string, params: unknown[] = []) => {
        const { all } = await walk(app, `${query}&limit=13`);
        const { rows } = await f.db.pool.query<{ id: string }>(sql, params);
        expect(all.map((i) => i.inventoryId)).toEqual(rows.map((r) => r.id));
        expect(all.length).toBeGreaterThan(0);
        return all;
      };
      await expectSet('warehouse=WH-TYO', "select inventory_id id from inventories where warehouse_id = 'WH-TYO' order by persistence_id");
      await expectSet('zone=WH-OSA-AMBIENT', "select inventory_id id from inventories where zone_id = 'WH-OSA-AMBIENT' order by persistence_id");
      const product = f.master.products[4]!.productId;
      await expectSet(`product=${product}`, 'select inventory_id id from inventories where product_id = $1 order by persistence_id', [product]);
      await expectSet(
        'category=FOOD',
        "select inventory_id id from inventories i join products p using (product_id) where p.category = 'FOOD' order by persistence_id",
      );
      await expectSet('storageCondition=CHILLED', "select inventory_id id from inventories where product_storage_condition = 'CHILLED' order by persistence_id");
      const below = await expectSet(
        'belowThreshold=true',
        'select inventory_id id from inventories i join warehouse_zones z using (zone_id) where i.available < z.low_stock_threshold order by persistence_id',
      );
      expect(below.every((i) => i.available < 10)).toBe(true);
      await expectSet(
        'belowThreshold=false&warehouse=WH-FUK&category=DAILY_GOODS',
        `select inventory_id id from inventories i join warehouse_zones z using (zone_id) join products p using (product_id)
          where i.available >= z.low_stock_threshold and i.warehouse_id = 'WH-FUK' and p.category = 'DAILY_GOODS' order by persistence_id`,
      );
      const none = await getJson<Page<Inventory>>(app, '/inventories?warehouse=WH-XXX');
      expect(none.body).toMatchObject({ data: [], nextCursor: null });
    });

    it('refuses a tampered cursor, a cursor of other filters, and bad limits with 400s naming the parameter', async () => {
      const app = f.app();
      const page1 = await getJson<Page<Inventory>>(app, '/inventories?limit=2&warehouse=WH-TYO');
      const cursor = page1.body.nextCursor!;
      const decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as { a: string };
      decoded.a = 'inventory-INV-000050';
      const tampered = Buffer.from(JSON.stringify(decoded)).toString('base64url');
      for (const url of [
        `/inventories?limit=2&warehouse=WH-TYO&cursor=${tampered}`,
        `/inventories?limit=2&warehouse=WH-OSA&cursor=${cursor}`,
        `/inventories?limit=2&warehouse=WH-TYO&cursor=${cursor.slice(0, -3)}`,
      ]) {
        const res = await getJson<{ errors: { name: string }[] }>(app, url);
        expect(res.status, url).toBe(400);
        expect(res.body.errors[0]!.name).toBe('cursor');
      }
      for (const limit of ['0', '201', '-1', '1.5', '1e2', 'ten', '']) {
        const res = await getJson<{ errors: { name: string; message: string }[] }>(app, `/inventories?limit=${limit}`);
        expect(res.status, limit).toBe(400);
        expect(res.body.errors[0]).toMatchObject({ name: 'limit', message: 'must be an integer from 1 to 200' });
      }
      const unknown = await getJson<{ errors: unknown[] }>(app, '/inventories?warehous=WH-TYO&limit=1&limit=2');
      expect(unknown.body.errors).toEqual(
        expect.arrayContaining([
          { in: 'query', name: 'warehous', message: 'unknown parameter' },
          { in: 'query', name: 'limit', message: 'must be given only once' },
        ]),
      );
    });
  });

  describe('GET /inventories/:id/movements', () => {
    interface Movement {
      sequenceNr: number;
      eventTime: string;
    }

    it('pages through the audit log in sequence (= time) order', async () => {
      const app = f.app();
      const seen: Movement[] = [];
      let cursor: string | null = null;
      do {
        const url: string = `/inventories/INV-000001/movements?limit=50${cursor ? `&cursor=${cursor}` : ''}`;
        const { status, body } = await getJson<Page<Movement>>(app, url);
        expect(status).toBe(200);
        expect(body.freshness.view).toBe('inventory_movements');
        seen.push(...body.data);
        cursor = body.nextCursor;
      } while (cursor);
      expect(seen.map((m) => m.sequenceNr)).toEqual(Array.from({ length: MOVEMENT_COUNT }, (_, i) => i + 1));
      const times = seen.map((m) => Date.parse(m.eventTime));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
    });

    it('restricts to [from, to) and validates the range', async () => {
      const app = f.app();
      const { body } = await getJson<Page<Movement>>(
        app,
        '/inventories/inventory-INV-000001/movements?from=2026-01-01T00:10:00Z&to=2026-01-01T00:20:00%2B00:00',
      );
      expect(body.data.map((m) => m.sequenceNr)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
      const reversed = await getJson<{ errors: { name: string }[] }>(app, '/inventories/INV-000001/movements?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z');
      expect(reversed.status).toBe(400);
      expect(reversed.body.errors[0]!.name).toBe('from');
      expect((await app.request('/inventories/INV-000001/movements?from=yesterday')).status).toBe(400);
      expect((await app.request('/inventories/INV-424242/movements')).status).toBe(404);
      const empty = await getJson<Page<Movement>>(app, '/inventories/INV-000002/movements');
      expect(empty.body).toMatchObject({ data: [], nextCursor: null });
    });
  });
});
