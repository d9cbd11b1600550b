import { createRoute, z } from '@hono/zod-openapi';
import {
  AGGREGATE_VIEWS,
  dailyMovements,
  stockByCategoryCondition,
  stockByWarehouseZone,
  zoneUtilisation,
} from '../../db/queries/aggregates.js';
import { STOCK_BY_CATEGORY_DAILY_VIEW, stockByCategoryDaily } from '../../db/queries/stock-by-category-daily.js';
import { readFirstViewFreshness } from '../../db/view-freshness.js';
import { filterScope } from '../cursor.js';
import { invalidParameter } from '../errors.js';
import {
  category,
  cursorParam,
  errorResponses,
  freshnessSchema,
  isoDate,
  movementType,
  notModifiedResponse,
  pageLimit,
  pageSchema,
  storageCondition,
  warehouseId,
  zoneId,
} from '../schemas.js';
import type { ApiApp, RouteContext } from './context.js';

const stockFields = {
  onHand: z.number().int(),
  reserved: z.number().int(),
  available: z.number().int(),
  inventoryCount: z.number().int(),
  updatedAt: z.string(),
};
const stockByZoneItem = z.object({ warehouseId: z.string(), zoneId: z.string(), ...stockFields }).openapi('StockByWarehouseZone');
const stockByCategoryItem = z
  .object({ category: z.string(), storageCondition: z.string(), ...stockFields })
  .openapi('StockByCategoryCondition');
const utilisationItem = z
  .object({
    warehouseId: z.string(),
    zoneId: z.string(),
    zoneType: z.string(),
    capacityUnits: z.number().int(),
    onHand: z.number().int(),
    utilisation: z.number().openapi({ description: 'on hand / capacity (1 = full)' }),
  })
  .openapi('ZoneUtilisation');
const dailyItem = z
  .object({
    day: z.string(),
    warehouseId: z.string(),
    zoneId: z.string(),
    movementType: z.string(),
    eventCount: z.number().int(),
    quantity: z.number().int(),
    lateCount: z.number().int(),
    updatedAt: z.string(),
  })
  .openapi('DailyMovements');

const stockByCategoryDayItem = z
  .object({
    day: z.string(),
    category: z.string(),
    storageCondition: z.string(),
    ...stockFields,
    onHandChange: z.number().int(),
    reservedChange: z.number().int(),
    inventoryCountChange: z.number().int(),
  })
  .omit({ updatedAt: true })
  .openapi('StockByCategoryDay', { description: 'the stock at the end of a day (UTC, event time) on which it changed, and the day’s changes' });

const viewBody = <T extends z.ZodTypeAny>(item: T, name: string) =>
  z.object({ data: z.array(item), freshness: freshnessSchema }).openapi(name);

const stockByZoneBody = viewBody(stockByZoneItem, 'StockByWarehouseZoneView');
const stockByCategoryBody = viewBody(stockByCategoryItem, 'StockByCategoryConditionView');
const utilisationBody = viewBody(utilisationItem, 'ZoneUtilisationView');
const dailyBody = pageSchema(dailyItem).openapi('DailyMovementsPage');
const stockHistoryBody = viewBody(stockByCategoryDayItem, 'StockByCategoryHistoryView');

const viewRoute = <Q extends z.ZodObject, B extends z.ZodTypeAny>(path: string, summary: string, query: Q, body: B) =>
  createRoute({
    method: 'get',
    path,
    tags: ['views'],
    summary,
    request: { query },
    responses: {
      200: { description: 'the view with its freshness', content: { 'application/json': { schema: body } } },
      ...notModifiedResponse,
      ...errorResponses,
    },
  });

const stockByZoneRoute = viewRoute(
  '/views/stock-by-warehouse-zone',
  'Stock per warehouse × zone',
  z.object({ warehouse: warehouseId.optional(), zone: zoneId.optional() }).strict(),
  stockByZoneBody,
);
const stockByCategoryRoute = viewRoute(
  '/views/stock-by-category-condition',
  'Stock per product category × storage condition',
  z.object({ category: category.optional(), storageCondition: storageCondition.optional() }).strict(),
  stockByCategoryBody,
);
const utilisationRoute = viewRoute(
  '/views/zone-utilisation',
  'Stock against zone capacity',
  z.object({ warehouse: warehouseId.optional(), zoneType: storageCondition.optional() }).strict(),
  utilisationBody,
);

/** Longest date range one request may ask for (inclusive days). */
export const MAX_DAILY_RANGE_DAYS = 366;
const DAY_MS = 86_400_000;

const dailyRoute = viewRoute(
  '/views/daily-movements',
  'Movements per UTC day (event time) × warehouse × zone × movement type',
  z
    .object({
      from: isoDate.optional().openapi({
        description: `first day (UTC); default: 6 days before to. Not after to, and at most ${MAX_DAILY_RANGE_DAYS} days from from to to inclusive (400)`,
      }),
      to: isoDate.optional().openapi({ description: 'last day (UTC), inclusive; default: today (UTC)' }),
      warehouse: warehouseId.optional(),
      zone: zoneId.optional(),
      movementType: movementType.optional(),
      limit: pageLimit(1000, 500),
      cursor: cursorParam,
    })
    .strict(),
  dailyBody,
);

const stockHistoryRoute = viewRoute(
  '/views/stock-by-category-history',
  'Stock per product category × storage condition at the end of each day it changed (UTC, event time)',
  z
    .object({
      category: category.optional(),
      storageCondition: storageCondition.optional(),
      to: isoDate.optional().openapi({ description: 'last day (UTC), inclusive; default: today (UTC)' }),
      days: pageLimit(MAX_DAILY_RANGE_DAYS, 30).openapi({ description: 'how many days, ending with to' }),
    })
    .strict(),
  stockHistoryBody,
);

const dailyKey = z.object({
  day: z.iso.date(),
  warehouseId: z.string().max(128),
  zoneId: z.string().max(128),
  movementType: z.string().max(64),
});

export function registerViewRoutes(app: ApiApp, { db, cursors, freshness, respond, clock }: RouteContext & { clock: () => number }): void {
  /** A SQL view (zone_utilisation) without its own freshness row inherits its table's. */
  const fresh = async (names: string[]) => freshness.forView(names[0]!, await readFirstViewFreshness(db, names));

  app.openapi(stockByZoneRoute, async (c) => {
    const q = c.req.valid('query');
    const [rows, f] = await Promise.all([
      stockByWarehouseZone(db, { warehouseId: q.warehouse, zoneId: q.zone }),
      fresh([AGGREGATE_VIEWS.stockByWarehouseZone]),
    ]);
    const data = rows.map((r) => ({ ...r, updatedAt: r.updatedAt.toISOString() }));
    const body: z.infer<typeof stockByZoneBody> = { data, freshness: f.json };
    return respond.json(c, body, { etagParts: [data, f.json.lastSourceTime, f.status], status: f.status, lagMs: f.lagMs });
  });

  app.openapi(stockByCategoryRoute, async (c) => {
    const q = c.req.valid('query');
    const [rows, f] = await Promise.all([
      stockByCategoryCondition(db, { category: q.category, storageCondition: q.storageCondition }),
      fresh([AGGREGATE_VIEWS.stockByCategoryCondition]),
    ]);
    const data = rows.map((r) => ({ ...r, updatedAt: r.updatedAt.toISOString() }));
    const body: z.infer<typeof stockByCategoryBody> = { data, freshness: f.json };
    return respond.json(c, body, { etagParts: [data, f.json.lastSourceTime, f.status], status: f.status, lagMs: f.lagMs });
  });

  app.openapi(utilisationRoute, async (c) => {
    const q = c.req.valid('query');
    const [data, f] = await Promise.all([
      zoneUtilisation(db, { warehouseId: q.warehouse, zoneType: q.zoneType }),
      fresh([AGGREGATE_VIEWS.zoneUtilisation, AGGREGATE_VIEWS.stockByWarehouseZone]),
    ]);
    const body: z.infer<typeof utilisationBody> = { data, freshness: f.json };
    return respond.json(c, body, { etagParts: [data, f.json.lastSourceTime, f.status], status: f.status, lagMs: f.lagMs });
  });

  app.openapi(stockHistoryRoute, async (c) => {
    const q = c.req.valid('query');
    const to = q.to ?? new Date(clock()).toISOString().slice(0, 10);
    const from = new Date(Date.parse(to) - ((q.days ?? 30) - 1) * DAY_MS).toISOString().slice(0, 10);
    const [data, f] = await Promise.all([
      stockByCategoryDaily(db, { from, to, category: q.category, storageCondition: q.storageCondition }),
      fresh([STOCK_BY_CATEGORY_DAILY_VIEW]),
    ]);
    const body: z.infer<typeof stockHistoryBody> = { data, freshness: f.json };
    return respond.json(c, body, { etagParts: [data, f.json.lastSourceTime, f.status], status: f.status, lagMs: f.lagMs });
  });

  app.openapi(dailyRoute, async (c) => {
    const q = c.req.valid('query');
    const to = q.to ?? new Date(clock()).toISOString().slice(0, 10);
    const from = q.from ?? new Date(Date.parse(to) - 6 * DAY_MS).toISOString().slice(0, 10);
    const days = (Date.parse(to) - Date.parse(from)) / DAY_MS + 1;
    if (days < 1) throw invalidParameter('query', 'from', `must not be after to (${to})`);
    if (days > MAX_DAILY_RANGE_DAYS) throw invalidParameter('query', 'to', `range must be at most ${MAX_DAILY_RANGE_DAYS} days (got ${days})`);
    const filters = { from, to, warehouseId: q.warehouse, zoneId: q.zone, movementType: q.movementType };
    const scope = filterScope(filters);
    const after = q.cursor === undefined ? undefined : cursors.decode('daily-movements', q.cursor, dailyKey, scope);
    const limit = q.limit ?? 500;
    const [page, f] = await Promise.all([dailyMovements(db, filters, { after, limit }), fresh([AGGREGATE_VIEWS.dailyMovements])]);
    const last = page.rows.at(-1);
    const nextCursor =
      page.hasMore && last
        ? cursors.encode('daily-movements', { day: last.day, warehouseId: last.warehouseId, zoneId: last.zoneId, movementType: last.movementType }, scope)
        : null;
    const data = page.rows.map((r) => ({ ...r, updatedAt: r.updatedAt.toISOString() }));
    const body: z.infer<typeof dailyBody> = { data, nextCursor, freshness: f.json };
    return respond.json(c, body, { etagParts: [data, nextCursor, f.json.lastSourceTime, f.status], status: f.status, lagMs: f.lagMs });
  });
}
