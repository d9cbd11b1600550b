import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMasterData, loadMasterData, type MasterData } from '../../src/command/master-data.js';
import { migrate } from '../../src/db/migrate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/stack.js';

describe('loadMasterData (real PostgreSQL)', () => {
  let db: TestDatabase;
  const data = generateMasterData();

  beforeAll(async () => {
    db = await createTestDatabase('masterdata');
    await migrate(db.pool, 'migrations');
  });
  afterAll(async () => db?.drop());

  const scalar = async <T>(sql: string): Promise<T> => (await db.pool.query<{ v: T }>(sql)).rows[0]!.v;
  const meta = async (): Promise<Record<string, string>> => {
    const { rows } = await db.pool.query<{ key: string; value: string }>('select key, value from master_data_meta');
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  };

  it('loads the full master data, and a second load of the same data is a no-op', async () => {
    const first = await loadMasterData(db.pool, data);
    expect(first.loaded).toBe(true);
    expect(first.counts).toEqual({ warehouses: 3, zones: 9, companies: data.companies.length, customers: 430, products: 8000 });

    const counts = await db.pool.query(`select
      (select count(*)::int from warehouses) as warehouses, (select count(*)::int from warehouse_zones) as zones,
      (select count(*)::int from companies) as companies, (select count(*)::int from customers) as customers,
      (select count(*)::int from products) as products`);
    expect(counts.rows[0]).toEqual(first.counts);

    // A no-op writes nothing: the row versions (xmin) and the meta timestamp stay as they were.
    const before = await scalar<string>("select xmin::text as v from products where product_id = 'P-000001'");
    const loadedAt = await scalar<Date>("select updated_at as v from master_data_meta where key = 'checksum'");
    const second = await loadMasterData(db.pool, generateMasterData());
    expect(second).toMatchObject({ loaded: false, counts: first.counts, checksum: first.checksum });
    expect(await scalar<string>("select xmin::text as v from products where product_id = 'P-000001'")).toBe(before);
    expect(await scalar<Date>("select updated_at as v from master_data_meta where key = 'checksum'")).toEqual(loadedAt);

    expect(await meta()).toEqual({
      generator_version: String(data.generatorVersion),
      seed: '42',
      counts: JSON.stringify(first.counts),
      checksum: first.checksum,
    });
  });

  it('stores the storage-condition shares of food as 60/30/10 and daily goods as ambient only', async () => {
    const { rows } = await db.pool.query<{ category: string; storage_condition: string; share: number }>(`
      select category, storage_condition,
             round(count(*)::numeric / sum(count(*)) over (partition by category), 3)::float8 as share
        from products group by category, storage_condition order by category, storage_condition`);
    expect(rows).toEqual([
      { category: 'DAILY_GOODS', storage_condition: 'AMBIENT', share: 1 },
      { category: 'FOOD', storage_condition: 'AMBIENT', share: 0.6 },
      { category: 'FOOD', storage_condition: 'CHILLED', share: 0.3 },
      { category: 'FOOD', storage_condition: 'FROZEN', share: 0.1 },
    ]);
    expect(await scalar<number>("select round(avg((category = 'FOOD')::int), 2)::float8 as v from products")).toBe(0.7);
  });

  it('keeps zones within their warehouse and one zone per type', async () => {
    const { rows } = await db.pool.query<{ warehouse_id: string; types: string[]; zone_sum: number; capacity: number }>(`
      select w.warehouse_id, array_agg(z.zone_type order by z.zone_type) as types,
             sum(z.capacity_units)::float8 as zone_sum, w.capacity_units::float8 as capacity
        from warehouses w join warehouse_zones z using (warehouse_id)
       group by w.warehouse_id, w.capacity_units order by w.warehouse_id`);
    expect(rows.map((r) => r.warehouse_id)).toEqual(['WH-FUK', 'WH-OSA', 'WH-TYO']);
    for (const r of rows) {
      expect(r.types).toEqual(['AMBIENT', 'CHILLED', 'FROZEN']);
      expect(r.zone_sum).toBeLessThanOrEqual(r.capacity);
    }
  });

  it('reads back exactly what was generated: multi-line text, Japanese, NULL prices', async () => {
    const { rows } = await db.pool.query<{ product_id: string; sku: string; name: string; description: string; price_yen: number | null }>(
      'select product_id, sku, name, description, price_yen from products order by product_id',
    );
    expect(rows.map((r) => ({ productId: r.product_id, sku: r.sku, name: r.name, description: r.description, priceYen: r.price_yen })))
      .toEqual(data.products.map(({ productId, sku, name, description, priceYen }) => ({ productId, sku, name, description, priceYen })));
    expect(rows.some((r) => r.description.includes('\n'))).toBe(true);
    expect(rows.some((r) => r.price_yen === null)).toBe(true);
  });

  it('reloads when the data differ, and arbitrary strings survive COPY byte for byte', async () => {
    const names = fc.sample(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).map((s) => s.replaceAll('\0', '')),
      { numRuns: 300, seed: 7 },
    );
    names.push('tab\there', 'new\nline', 'cr\rlf', 'back\\slash', '\\N', '\\.', '\\', '東京倉庫\t冷凍区画\n');
    const base = generateMasterData({ seed: 7, products: names.length, customers: 20 });
    const nasty: MasterData = { ...base, products: base.products.map((p, i) => ({ ...p, name: names[i]! })) };

    expect((await loadMasterData(db.pool, nasty)).loaded).toBe(true);
    const { rows } = await db.pool.query<{ name: string }>('select name from products order by product_id');
    expect(rows.map((r) => r.name)).toEqual(names);
    expect((await meta()).seed).toBe('7');
    expect(await scalar<number>('select count(*)::int as v from customers')).toBe(20);
  });

  it('lets concurrent loaders of the same data load it once', async () => {
    const next = generateMasterData({ seed: 99, products: 500, customers: 40 });
    const results = await Promise.all([loadMasterData(db.pool, next), loadMasterData(db.pool, next)]);
    expect(results.map((r) => r.loaded).sort()).toEqual([false, true]);
    expect(await scalar<number>('select count(*)::int as v from products')).toBe(500);
  });

  it('reloads when rows were deleted behind the meta table', async () => {
    const next = generateMasterData({ seed: 99, products: 500, customers: 40 });
    await db.pool.query("delete from customers where customer_id = 'C-0001'");
    expect((await loadMasterData(db.pool, next)).loaded).toBe(true);
    expect(await scalar<number>('select count(*)::int as v from customers')).toBe(40);
  });

  it('never cascades: with a table referencing products, a reload fails and leaves the old rows', async () => {
    await db.pool.query('create table dependent_rows (product_id text references products (product_id))');
    await db.pool.query("insert into dependent_rows values ('P-000001')");
    await expect(loadMasterData(db.pool, data)).rejects.toThrow(/truncate/i);
    expect(await scalar<number>('select count(*)::int as v from products')).toBe(500);
    expect(await scalar<number>('select count(*)::int as v from dependent_rows')).toBe(1);
    expect((await meta()).seed).toBe('99');
  });
});
