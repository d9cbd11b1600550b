import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateMasterData, type MasterData } from '../../src/command/master-data.js';
import { createRandom, deriveSeed } from '../../src/shared/random.js';
import { copyRow, type CopyValue } from '../../src/db/copy.js';

// Generating 8,000 products takes tens of milliseconds: share one instance.
const data = generateMasterData();

const countBy = <T>(items: readonly T[], key: (item: T) => string): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
};

/** Invariants that must hold for every seed and size, not just the default. */
function expectInvariants(d: MasterData): void {
  expect(d.warehouses.map((w) => w.warehouseId)).toEqual(['WH-TYO', 'WH-OSA', 'WH-FUK']);
  for (const w of d.warehouses) {
    const zones = d.zones.filter((z) => z.warehouseId === w.warehouseId);
    expect(zones.map((z) => z.zoneType).sort()).toEqual(['AMBIENT', 'CHILLED', 'FROZEN']);
    for (const z of zones) expect(z.zoneId).toBe(`${w.warehouseId}-${z.zoneType}`);
    expect(zones.reduce((sum, z) => sum + z.capacityUnits, 0)).toBeLessThanOrEqual(w.capacityUnits);
  }
  expect(d.zones).toHaveLength(9);

  for (const p of d.products) {
    expect(['AMBIENT', 'CHILLED', 'FROZEN']).toContain(p.storageCondition);
    if (p.category === 'DAILY_GOODS') expect(p.storageCondition).toBe('AMBIENT');
    expect(p.productId).toMatch(/^P-[0-9]{6,}$/);
    expect(janIsValid(p.sku)).toBe(true);
  }
  expect(new Set(d.products.map((p) => p.productId)).size).toBe(d.products.length);
  expect(new Set(d.products.map((p) => p.sku)).size).toBe(d.products.length);

  const companyIds = new Set(d.companies.map((c) => c.companyId));
  expect(companyIds.size).toBe(d.companies.length);
  expect(d.companies.filter((c) => c.companyType === 'OWN')).toHaveLength(1);
  for (const c of d.companies) expect(c.companyId).toMatch(/^CO-[0-9]{4,}$/);
  for (const c of d.customers) {
    expect(c.customerId).toMatch(/^C-[0-9]{4,}$/);
    expect(companyIds.has(c.companyId)).toBe(true);
    expect(c.companyId).not.toBe('CO-0001');
  }
  expect(new Set(d.customers.map((c) => c.customerId)).size).toBe(d.customers.length);
  // Every partner company has at least one account: no orphan companies.
  const withAccounts = new Set(d.customers.map((c) => c.companyId));
  for (const c of d.companies) if (c.companyType === 'PARTNER') expect(withAccounts.has(c.companyId)).toBe(true);
}

function janIsValid(code: string): boolean {
  if (!/^\d{13}$/.test(code)) return false;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(code[i]) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10 === Number(code[12]);
}

describe('generateMasterData', () => {
  it('has the seed scale: 3 warehouses, 9 zones, 8,000 products, 430 customers', () => {
    expect(data.warehouses).toHaveLength(3);
    expect(data.zones).toHaveLength(9);
    expect(data.products).toHaveLength(8000);
    expect(data.customers).toHaveLength(430);
    expect(data.seed).toBe(42);
    expectInvariants(data);
  });

  it('is deterministic: same seed gives identical output, another seed different output', () => {
    expect(generateMasterData({ seed: 42 })).toEqual(data);
    const other = generateMasterData({ seed: 43 });
    expect(other.products).not.toEqual(data.products);
    expect(other.customers).not.toEqual(data.customers);
    // What does not depend on the seed stays put.
    expect(other.warehouses).toEqual(data.warehouses);
    expect(other.zones).toEqual(data.zones);
  });

  it('draws products and customers from independent streams', () => {
    const fewerProducts = generateMasterData({ products: 100 });
    expect(fewerProducts.customers).toEqual(data.customers);
    expect(fewerProducts.companies).toEqual(data.companies);
    expect(generateMasterData({ customers: 50 }).products).toEqual(data.products);
  });

  it('splits products 70% food / 30% daily goods and food 60/30/10 by storage condition', () => {
    const byCategory = countBy(data.products, (p) => p.category);
    expect(byCategory).toEqual({ FOOD: 5600, DAILY_GOODS: 2400 });
    const food = data.products.filter((p) => p.category === 'FOOD');
    expect(countBy(food, (p) => p.storageCondition)).toEqual({ AMBIENT: 3360, CHILLED: 1680, FROZEN: 560 });
    expect(countBy(data.products.filter((p) => p.category === 'DAILY_GOODS'), (p) => p.storageCondition)).toEqual({
      AMBIENT: 2400,
    });
  });

  it('interleaves kinds rather than laying them out in blocks of ids', () => {
    const first100 = countBy(data.products.slice(0, 100), (p) => `${p.category}/${p.storageCondition}`);
    expect(Object.keys(first100).length).toBe(4);
  });

  it('follows the seed partner mix: 50 supermarkets, 30 convenience stores, 200 restaurants, 150 retailers', () => {
    expect(countBy(data.customers, (c) => c.customerType)).toEqual({
      SUPERMARKET: 50,
      CONVENIENCE_STORE: 30,
      RESTAURANT: 200,
      RETAILER: 150,
    });
    // Restaurants are stores of groups, so there are fewer restaurant companies than restaurants.
    const restaurantCompanies = new Set(data.customers.filter((c) => c.customerType === 'RESTAURANT').map((c) => c.companyId));
    expect(restaurantCompanies.size).toBeLessThan(200);
    expect(restaurantCompanies.size).toBeGreaterThan(20);
  });

  it('sizes zones realistically: ambient > chilled > frozen in every warehouse', () => {
    for (const w of data.warehouses) {
      const cap = (t: string) => data.zones.find((z) => z.warehouseId === w.warehouseId && z.zoneType === t)!.capacityUnits;
      expect(cap('AMBIENT')).toBeGreaterThan(cap('CHILLED'));
      expect(cap('CHILLED')).toBeGreaterThan(cap('FROZEN'));
    }
  });

  it('keeps shares exact up to rounding and all invariants for any seed and size', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 60 }), (seed, products, customers) => {
        const d = generateMasterData({ seed, products, customers });
        expect(d.products).toHaveLength(products);
        expect(d.customers).toHaveLength(customers);
        const food = d.products.filter((p) => p.category === 'FOOD');
        expect(Math.abs(food.length - products * 0.7)).toBeLessThanOrEqual(1);
        const chilled = food.filter((p) => p.storageCondition === 'CHILLED').length;
        expect(Math.abs(chilled - food.length * 0.3)).toBeLessThanOrEqual(1);
        expectInvariants(d);
      }),
      { numRuns: 60 },
    );
  });

  it('refuses options it cannot honour', () => {
    expect(() => generateMasterData({ seed: 1.5 })).toThrow(RangeError);
    expect(() => generateMasterData({ products: -1 })).toThrow(RangeError);
    expect(() => generateMasterData({ products: 1_000_000 })).toThrow(RangeError);
    expect(() => generateMasterData({ customers: 2.5 })).toThrow(RangeError);
  });
});

describe('createRandom', () => {
  it('repeats its sequence for a seed and differs across seeds', () => {
    const a = createRandom(7);
    const b = createRandom(7);
    const seqA = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 20 }, () => createRandom(8).next())).not.toEqual(seqA);
    expect(deriveSeed(7, 'products')).not.toBe(deriveSeed(7, 'customers'));
  });

  it('keeps int() within bounds, shuffle() a permutation, weighted() near its weights', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: -1000, max: 1000 }), fc.nat(1000), (seed, min, span) => {
        const r = createRandom(seed);
        for (let i = 0; i < 20; i++) {
          const v = r.int(min, min + span);
          expect(Number.isInteger(v) && v >= min && v <= min + span).toBe(true);
        }
        const items = Array.from({ length: span % 30 }, (_, i) => i);
        expect(r.shuffle(items).sort((x, y) => x - y)).toEqual(items);
      }),
    );
    const r = createRandom(1);
    const counts = countBy(Array.from({ length: 10_000 }, () => r.weighted([['a', 1], ['b', 3], ['never', 0]] as const)), (x) => x);
    expect(counts.never).toBeUndefined();
    expect(counts.b! / 10_000).toBeCloseTo(0.75, 1);
  });
});

/**
 * An independent model of PostgreSQL's COPY text-format reader
 * (src/backend/commands/copyfromparse.c): `\N` is NULL; backslash escapes
 * b f n r t v, 1-3 octal digits, x + 1-2 hex digits; any other escaped
 * character stands for itself.
 */
function parseCopyText(text: string): (string | null)[][] {
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) =>
      line.split('\t').map((field) => {
        if (field === '\\N') return null;
        let out = '';
        for (let i = 0; i < field.length; i++) {
          const c = field[i]!;
          if (c !== '\\') {
            out += c;
            continue;
          }
          const e = field[++i];
          if (e === undefined) throw new Error('trailing backslash');
          const simple: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
          if (simple[e] !== undefined) out += simple[e];
          else if (/[0-7]/.test(e)) {
            let digits = e;
            while (digits.length < 3 && /[0-7]/.test(field[i + 1] ?? '')) digits += field[++i];
            out += String.fromCharCode(parseInt(digits, 8));
          } else if (e === 'x' && /[0-9a-fA-F]/.test(field[i + 1] ?? '')) {
            let digits = field[++i]!;
            if (/[0-9a-fA-F]/.test(field[i + 1] ?? '')) digits += field[++i];
            out += String.fromCharCode(parseInt(digits, 16));
          } else out += e;
        }
        return out;
      }),
    );
}

describe('copyRow', () => {
  it('escapes tabs, newlines, carriage returns and backslashes, and writes NULL as \\N', () => {
    expect(copyRow(['a\tb', 'line1\nline2', 'cr\r', 'back\\slash', null])).toBe(
      'a\\tb\tline1\\nline2\tcr\\r\tback\\\\slash\t\\N\n',
    );
    // Strings that spell COPY's own markers must arrive as text, not as NULL or end-of-data.
    expect(copyRow(['\\N', '\\.'])).toBe('\\\\N\t\\\\.\n');
    expect(parseCopyText(copyRow(['\\N', '\\.', '']))).toEqual([['\\N', '\\.', '']]);
    expect(copyRow([undefined, '東京倉庫 常温区画'])).toBe('\\N\t東京倉庫 常温区画\n');
  });

  it('formats numbers, bigints, booleans and dates as PostgreSQL reads them', () => {
    expect(copyRow([42, -1.5, 10n ** 20n, true, false, new Date('2024-01-02T03:04:05.678Z')])).toBe(
      '42\t-1.5\t100000000000000000000\tt\tf\t2024-01-02T03:04:05.678Z\n',
    );
  });

  it('refuses what PostgreSQL cannot store or would misread', () => {
    expect(() => copyRow(['a\0b'])).toThrow(/NUL/);
    expect(() => copyRow([Number.NaN])).toThrow(/finite/);
    expect(() => copyRow([Number.POSITIVE_INFINITY])).toThrow(/finite/);
    expect(() => copyRow([new Date(Number.NaN)])).toThrow(/invalid Date/);
  });

  it('round-trips any row of strings and NULLs through the COPY text parser', () => {
    const nasty = fc.constantFrom('\\', '\t', '\n', '\r', '\\N', '\\.', '\\t', '\\\\', '\v', '\b', '東京');
    const text = fc
      .array(fc.oneof(fc.string({ unit: 'binary' }), nasty), { maxLength: 4 })
      .map((parts) => parts.join('').replaceAll('\0', ''));
    fc.assert(
      fc.property(fc.array(fc.option(text, { nil: null }), { minLength: 1, maxLength: 8 }), (values) => {
        const line = copyRow(values);
        // One physical line per row, one raw tab per column boundary: what makes COPY framing safe.
        expect(line.indexOf('\n')).toBe(line.length - 1);
        expect(line.split('\t')).toHaveLength(values.length);
        expect(parseCopyText(line)).toEqual([values]);
      }),
      { numRuns: 500 },
    );
  });

  it('concatenates into a multi-row COPY payload that parses back row by row', () => {
    const rows: CopyValue[][] = [['P-000001', 'a\nb', null], ['P-000002', 'c\td', 198]];
    expect(parseCopyText(rows.map(copyRow).join(''))).toEqual([
      ['P-000001', 'a\nb', null],
      ['P-000002', 'c\td', '198'],
    ]);
  });
});
