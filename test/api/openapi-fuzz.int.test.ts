import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import { createApiFixture, lagSnapshot, NOW, type ApiFixture } from './api-fixture.js';

/**
 * A spec-driven fuzzer (what schemathesis does, in TypeScript): every
 * operation and parameter is read from /openapi.json, values are generated
 * from each parameter's schema, and the document is the only oracle:
 *   - a value the document allows is never refused (no 400) and every
 *     answer's status is one the operation documents;
 *   - a value the document forbids is a documented 400 naming the parameter;
 *   - never a 5xx.
 * Relations between parameters that a schema cannot state are in the
 * parameters' descriptions; the pairs below follow those sentences.
 */

interface Schema {
  type?: string;
  format?: string;
  pattern?: string;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
}
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: Schema;
}
interface Operation {
  path: string;
  parameters: Parameter[];
  responses: string[];
}

const MIN_MS = Date.UTC(1900, 0, 1);
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function isCalendarDate(v: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

/** RFC 3339 date-time (JSON Schema `format: date-time`), leap second included. */
function isDateTime(v: string): boolean {
  const m = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/.exec(v);
  if (!m || !isCalendarDate(m[1]!)) return false;
  const [h, mi, s] = [Number(m[2]), Number(m[3]), Number(m[4])];
  if (h > 23 || mi > 59 || s > 60) return false;
  return m[7] === undefined || (Number(m[7]) <= 23 && Number(m[8]) <= 59);
}

/** Whether the document allows `v` (a query or path value, i.e. text) for `s`. */
function conforms(v: string, s: Schema): boolean {
  if (s.enum) return s.enum.includes(v);
  if (s.type === 'integer') {
    if (!/^-?[0-9]+$/.test(v)) return false;
    const n = Number(v);
    return (s.minimum === undefined || n >= s.minimum) && (s.maximum === undefined || n <= s.maximum);
  }
  const length = [...v].length; // JSON Schema counts code points
  if (s.minLength !== undefined && length < s.minLength) return false;
  if (s.maxLength !== undefined && length > s.maxLength) return false;
  if (s.pattern && !new RegExp(s.pattern, 'u').test(v)) return false;
  if (s.format === 'date' && !isCalendarDate(v)) return false;
  if (s.format === 'date-time' && !isDateTime(v)) return false;
  return true;
}

const two = (n: number) => String(n).padStart(2, '0');
/** A date-time in a random zone and precision, from an instant in the documented range. */
const dateTimeValue = fc
  .tuple(fc.integer({ min: MIN_MS, max: MAX_MS }), fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }), fc.integer({ min: 0, max: 6 }))
  .map(([ms, offsetMin, digits]) => {
    const local = new Date(ms + offsetMin * 60_000).toISOString(); // the wall-clock time in that zone
    const frac = digits === 0 ? '' : `.${String(ms % 1000).padStart(3, '0').padEnd(digits, '0').slice(0, digits)}`;
    const zone = offsetMin === 0 ? 'Z' : `${offsetMin < 0 ? '-' : '+'}${two(Math.floor(Math.abs(offsetMin) / 60))}:${two(Math.abs(offsetMin) % 60)}`;
    return `${local.slice(0, 19)}${frac}${zone}`;
  });
const dateValue = fc.integer({ min: MIN_MS, max: MAX_MS }).map((ms) => new Date(ms).toISOString().slice(0, 10));

/** Values the document allows for `s` (checked with `conforms`, so a generator cannot widen it). */
function validValues(s: Schema): fc.Arbitrary<string> {
  const arb = s.enum
    ? fc.constantFrom(...s.enum)
    : s.type === 'integer'
      ? fc.integer({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6 }).chain((n) => fc.constantFrom(String(n), `00${n}`.replace(/^00-/, '-')))
      : s.format === 'date-time'
        ? dateTimeValue
        : s.format === 'date'
          ? dateValue
          : s.pattern
            ? fc.stringMatching(new RegExp(s.pattern))
            : fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 64, 64) });
  return arb.filter((v) => conforms(v, s));
}

/** Anything a client could send; the document decides which of these are wrong. */
const anyValue = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.double().map(String) },
  { weight: 1, arbitrary: fc.string({ minLength: 120, maxLength: 300 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '0',
      '-1',
      '0345-01-01T00:00:00Z',
      '0345-01-01',
      '1899-12-31',
      '1899-12-31T23:59:59Z',
      '10000-01-01',
      '2026-02-29',
      '2024-02-29',
      '2026-01-01T24:00:00Z',
      '2026-01-01T23:59:60Z',
      '2026-01-01t10:00:00z',
      '2026-01-01T10:00Z',
      '2026-01-01T10:00:00',
      '2026-01-01T10:00:00+0900',
      '1e2',
      '0x10',
      ' 5',
      '+5',
      '0000000000005',
      '9'.repeat(30),
      'eyJ2IjoxfQ',
      'not a cursor',
      'WH-tyo',
      'ＷＨ-TYO',
      '🙂'.repeat(65),
    ),
  },
);
/** Either a value the document allows or anything at all. */
const valueFor = (s: Schema) => fc.oneof(validValues(s), anyValue);

/** Relations stated in the parameters' descriptions. */
const DAY_MS = 86_400_000;
function relationViolated(path: string, q: Record<string, string>): boolean {
  if (path === '/inventories/{id}/movements' && q.from && q.to && isDateTime(q.from) && isDateTime(q.to)) {
    return Date.parse(q.from) > Date.parse(q.to); // from: "not after to"
  }
  if (path === '/views/daily-movements') {
    const to = q.to ?? new Date(NOW).toISOString().slice(0, 10); // "default: today (UTC)"
    const from = q.from ?? new Date(Date.parse(to) - 6 * DAY_MS).toISOString().slice(0, 10);
    const days = (Date.parse(to) - Date.parse(from)) / DAY_MS + 1;
    return days < 1 || days > 366; // "not after to, and at most 366 days from from to to inclusive"
  }
  return false;
}

describe('spec-driven fuzzing: /openapi.json is the only oracle', () => {
  let f: ApiFixture;
  let app: ReturnType<ApiFixture['app']>;
  let operations: Operation[];
  const counts = { allowed: 0, forbidden: 0, requests: 0 };

  beforeAll(async () => {
    f = await createApiFixture('api_spec_fuzz');
    app = f.app({ lag: () => lagSnapshot('inventory-projector', { lag: 3, lagSeconds: 2 }) });
    const doc = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { parameters?: Parameter[]; responses: Record<string, unknown> }>>;
    };
    operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([, op]) => ({ path, parameters: op.parameters ?? [], responses: Object.keys(op.responses) })),
    );
  });
  afterAll(async () => f?.close());

  const send = async (op: Operation, pathValues: Record<string, string>, query: Record<string, string>) => {
    const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(pathValues[name]!));
    const qs = new URLSearchParams(query).toString();
    const url = `${path}${qs ? `?${qs}` : ''}`;
    const res = await app.request(url);
    const body = await res.text();
    counts.requests++;
    expect(res.status, `${url} → ${res.status} ${body.slice(0, 300)}`).toBeLessThan(500);
    expect(op.responses, `${url} → undocumented ${res.status} ${body.slice(0, 200)}`).toContain(String(res.status));
    return { url, status: res.status, body };
  };

  it('reads every operation with its parameters', () => {
    expect(operations.length).toBeGreaterThanOrEqual(12);
    expect(operations.flatMap((o) => o.parameters).length).toBeGreaterThan(30);
  });

  it('every parameter of every operation: allowed values are answered, forbidden ones are a documented 400 naming it', async () => {
    for (const op of operations) {
      const pathParams = op.parameters.filter((p) => p.in === 'path');
      const queryParams = op.parameters.filter((p) => p.in === 'query' && p.name !== 'cursor');
      if (pathParams.length === 0 && queryParams.length === 0) {
        await send(op, {}, {});
        continue;
      }
      // One parameter chosen and fuzzed per run, the others valid or absent, as schemathesis does.
      const fuzzed = fc.constantFrom(...pathParams, ...queryParams);
      await fc.assert(
        fc.asyncProperty(
          fuzzed.chain((p) =>
            fc.record({
              target: fc.constant(p),
              value: valueFor(p.schema),
              path: fc.record(Object.fromEntries(pathParams.map((q) => [q.name, fc.constantFrom('INV-000001', 'INV-999999')]))),
              others: fc.record(
                Object.fromEntries(queryParams.filter((q) => q !== p).map((q) => [q.name, fc.option(validValues(q.schema), { nil: undefined })])),
              ),
            }),
          ),
          async ({ target, value: raw, path, others }) => {
            // What reaches the server: a lone surrogate is sent as U+FFFD (UTF-8 cannot carry it).
            const value = Buffer.from(raw, 'utf8').toString('utf8');
            const query = Object.fromEntries(Object.entries(others).filter((e): e is [string, string] => e[1] !== undefined));
            const pathValues: Record<string, string> = { ...path };
            if (target.in === 'path') pathValues[target.name] = value;
            else query[target.name] = value;
            // An empty path value leaves no segment; '.' and '..' are dot-segments URL resolution removes: other paths.
            if (target.in === 'path' && (value === '' || value === '.' || value === '..')) return;
            const allowed = conforms(value, target.schema) && !relationViolated(op.path, query);
            const { url, status, body } = await send(op, pathValues, query);
            if (allowed) {
              counts.allowed++;
              expect(status, `allowed by the document, refused: ${url} → ${body.slice(0, 300)}`).not.toBe(400);
            } else if (conforms(value, target.schema)) {
              expect(status, url).toBe(400); // a relation the description states
            } else {
              counts.forbidden++;
              expect(status, `forbidden by the document, answered: ${url}`).toBe(400);
              expect((JSON.parse(body) as { errors: { name: string }[] }).errors.map((e) => e.name)).toContain(target.name);
            }
          },
        ),
        { numRuns: 40 * (pathParams.length + queryParams.length) },
      );
    }
    expect(counts.allowed).toBeGreaterThan(400);
    expect(counts.forbidden).toBeGreaterThan(300);
  }, 600_000);

  it('cursor: the nextCursor of the same operation and filters is answered; any other token of the documented shape is a 400', async () => {
    for (const op of operations.filter((o) => o.parameters.some((p) => p.name === 'cursor'))) {
      const pathValues = { id: 'INV-000001' };
      const first = await send(op, pathValues, { limit: '1' });
      expect(first.status, first.url).toBe(200);
      const next = (JSON.parse(first.body) as { nextCursor: string | null }).nextCursor;
      expect(next, `${first.url} has a second page`).not.toBeNull();
      const cursorSchema = op.parameters.find((p) => p.name === 'cursor')!.schema;
      expect(conforms(next!, cursorSchema), 'a cursor the API issues matches its own document').toBe(true);
      expect((await send(op, pathValues, { limit: '1', cursor: next! })).status).toBe(200);
      await fc.assert(
        fc.asyncProperty(validValues(cursorSchema).filter((c) => c !== next), async (token) => {
          const { status, body } = await send(op, pathValues, { limit: '1', cursor: token });
          expect(status).toBe(400);
          expect((JSON.parse(body) as { errors: { name: string }[] }).errors.map((e) => e.name)).toContain('cursor');
        }),
        { numRuns: 30 },
      );
    }
  });

  it('an over-long request line is answered 431 over a socket, which every operation documents', async () => {
    const server: ApiServer = await startApiServer(app, { port: 0 });
    try {
      for (const op of operations) {
        const path = op.path.replace('{id}', 'INV-000001');
        const res = await fetch(`http://127.0.0.1:${server.port}${path}?warehouse=${'W'.repeat(20_000)}`);
        await res.arrayBuffer();
        expect(res.status, path).toBe(431);
        expect(op.responses, path).toContain('431');
      }
    } finally {
      await server.close();
    }
  });
});
