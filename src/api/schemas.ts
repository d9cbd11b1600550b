import { z } from '@hono/zod-openapi';
import { CONSISTENCY_STATUSES, LAG_BASES } from './consistency.js';

/**
 * The parameter and response schemas shared by the routes. The same objects
 * validate requests and generate /openapi.json. Messages say what is expected,
 * because they are returned verbatim in 400 bodies.
 */

const pattern = (re: RegExp, expected: string) => z.string().max(128, 'is too long').regex(re, `must be ${expected}`);

const INVENTORY_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
export const inventoryIdParam = pattern(
  INVENTORY_ID,
  'an inventory id (INV-000123) or a persistence id (inventory-INV-000123)',
).openapi({ param: { name: 'id', in: 'path' }, example: 'INV-000123' });

/**
 * The check inventoryIdParam makes, without zod: the hot route tests this
 * first and asks the schema only for the refusal (same 400 body).
 */
export const isInventoryId = (s: string): boolean => s.length <= 128 && INVENTORY_ID.test(s);

export const warehouseId = pattern(/^WH-[A-Z]{3}$/, 'a warehouse id such as WH-TYO').openapi({ example: 'WH-TYO' });
export const zoneId = pattern(/^WH-[A-Z]{3}-(AMBIENT|CHILLED|FROZEN)$/, 'a zone id such as WH-TYO-CHILLED').openapi({
  example: 'WH-TYO-CHILLED',
});
export const productId = pattern(/^P-[0-9]{6,}$/, 'a product id such as P-000123').openapi({ example: 'P-000123' });

const enumOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(', ')}` });
export const category = enumOf(['FOOD', 'DAILY_GOODS'] as const);
export const storageCondition = enumOf(['AMBIENT', 'CHILLED', 'FROZEN'] as const);
export const movementType = enumOf([
  'CREATED',
  'RECEIPT',
  'RESERVATION',
  'RELEASE',
  'SHIPMENT',
  'ADJUSTMENT',
  'TRANSFER_OUT',
  'TRANSFER_IN',
  'VIOLATION',
] as const);
export const booleanFlag = enumOf(['true', 'false'] as const);

/** A page size: decimal digits only (no 1e2, 0x10, spaces), then bounded. */
export const pageLimit = (max: number, fallback: number) =>
  z
    .string()
    // Leading zeros are still a decimal integer (the document says `integer`); more than 6 significant digits is out of range anyway.
    .regex(/^0*[0-9]{1,6}$/, `must be an integer from 1 to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(1, `must be an integer from 1 to ${max}`).max(max, `must be an integer from 1 to ${max}`))
    .optional()
    .openapi({ type: 'integer', minimum: 1, maximum: max, default: fallback, description: 'page size' });

export const cursorParam = z
  .string()
  .min(1, 'must not be empty')
  .max(2048, 'is too long')
  .regex(/^[A-Za-z0-9_-]+$/, 'must be a cursor issued by this API (an opaque base64url token)')
  .optional()
  .openapi({
    description:
      'opaque base64url token: the nextCursor of the previous page of the same operation with the same filters, unchanged. ' +
      'Any other token (edited, truncated, from another listing or other filters) is refused with 400.',
  });

// Years outside 1900..9999 are refused here: PostgreSQL has no year 0, and such
// dates can only be mistakes in this domain.
const plausibleYear = (s: string) => {
  const year = Number(s.slice(0, 4));
  return year >= 1900 && year <= 9999;
};
const YEAR = '(19[0-9]{2}|[2-9][0-9]{3})';
const MONTH_DAY = '(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])';
/** What the document promises, in full: `format` adds a real calendar day to these patterns. */
export const DATE_PATTERN = `^${YEAR}-${MONTH_DAY}$`;
export const DATE_TIME_PATTERN = `^${YEAR}-${MONTH_DAY}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`;
export const isoDate = z.iso
  .date({ error: 'must be a date YYYY-MM-DD' })
  .refine(plausibleYear, 'must be a date between 1900-01-01 and 9999-12-31')
  .openapi({ pattern: DATE_PATTERN, description: 'a calendar date YYYY-MM-DD, years 1900 to 9999' });
export const isoDateTime = z.iso
  .datetime({ offset: true, error: 'must be an ISO 8601 date-time with zone, e.g. 2025-01-31T09:00:00Z' })
  .refine(plausibleYear, 'must be a date-time between the years 1900 and 9999')
  .openapi({
    pattern: DATE_TIME_PATTERN,
    description: 'an RFC 3339 date-time with seconds and a zone (Z or ±hh:mm), years 1900 to 9999, e.g. 2025-01-31T09:00:00Z',
  });

export const consistencyStatusSchema = z.enum(CONSISTENCY_STATUSES).openapi('ConsistencyStatus', {
  description:
    'UP_TO_DATE: lag ≤ 1 s, on the canary basis only; SLIGHTLY_STALE: ≤ 5 s (or ≤ 1 s on a basis that cannot see the bridge); STALE: more, or unknown (seed 000 §9.4)',
});

export const freshnessSchema = z
  .object({
    view: z.string(),
    lastSourceTime: z.string().nullable().openapi({ description: 'newest journal written_at applied to the view' }),
    lastCommitTime: z.string().nullable().openapi({ description: 'when the view last committed' }),
    lagSeconds: z.number().nullable().openapi({ description: 'how far behind the journal this answer may be' }),
    lagBasis: z.enum(LAG_BASES).openapi({
      description:
        'canary: from the end-to-end heartbeat (sees every stage, the bridge included); consumer-lag: from the consumer group lag only; ' +
        'last-applied: the delay of the last applied change only; unknown. Only canary can answer UP_TO_DATE.',
    }),
    consistencyStatus: consistencyStatusSchema,
  })
  .openapi('Freshness');

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    code: z.string(),
    requestId: z.string(),
    errors: z
      .array(z.object({ in: z.enum(['path', 'query', 'header']), name: z.string(), message: z.string() }))
      .optional(),
  })
  .openapi('Problem');

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: problemSchema } },
});

/** What the HTTP server answers before any route sees the request (every operation, the open ones too). */
export const transportResponses = {
  431: { description: 'request line and headers together over 16 KiB (Node.js HTTP server limit; no body)' },
} as const;

/** The error answers every data route can give. */
export const errorResponses = {
  400: problem('invalid parameter (which one, and why), or a parameter this operation does not take'),
  401: problem('missing or unknown API key'),
  429: problem('API key over its rate limit; see Retry-After'),
  503: problem('the database is unavailable'),
  ...transportResponses,
} as const;

export const notFoundResponse = { 404: problem('unknown id') } as const;
export const notModifiedResponse = { 304: { description: 'not modified (If-None-Match matched the weak ETag)' } } as const;

export const pageSchema = <T extends z.ZodTypeAny>(item: T) =>
  z.object({
    data: z.array(item),
    nextCursor: z.string().nullable().openapi({ description: 'pass as ?cursor= for the next page; null on the last page' }),
    freshness: freshnessSchema,
  });
