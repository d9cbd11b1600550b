import { createRoute, z } from '@hono/zod-openapi';
import { listLowStockAlerts, type LowStockAlertRow } from '../../db/queries/alerts.js';
import { AGGREGATE_VIEWS } from '../../db/queries/aggregates.js';
import { readFirstViewFreshness } from '../../db/view-freshness.js';
import { filterScope } from '../cursor.js';
import {
  cursorParam,
  errorResponses,
  notModifiedResponse,
  pageLimit,
  pageSchema,
  productId,
  warehouseId,
  zoneId,
} from '../schemas.js';
import { iso, type ApiApp, type RouteContext } from './context.js';

const alertSchema = z
  .object({
    alertId: z.number().int(),
    persistenceId: z.string(),
    inventoryId: z.string(),
    productId: z.string(),
    warehouseId: z.string(),
    zoneId: z.string(),
    threshold: z.number().int(),
    availableAtOpen: z.number().int(),
    openedAt: z.string().openapi({ description: 'event time at which available fell below the threshold' }),
    closedAt: z.string().nullable().openapi({ description: 'null while the alert is open' }),
    availableAtClose: z.number().int().nullable(),
    open: z.boolean(),
  })
  .openapi('LowStockAlert');

const toJson = (r: LowStockAlertRow): z.infer<typeof alertSchema> => ({
  ...r,
  openedAt: r.openedAt.toISOString(),
  closedAt: iso(r.closedAt),
  open: r.closedAt === null,
});

const pageBody = pageSchema(alertSchema).openapi('LowStockAlertPage');

const route = createRoute({
  method: 'get',
  path: '/alerts/low-stock',
  tags: ['alerts'],
  summary: 'Low-stock alerts, newest first: open ones by default, closed ones or all as history',
  request: {
    query: z
      .object({
        status: z.enum(['open', 'closed', 'all'], { error: 'must be one of open, closed, all' }).optional().openapi({ default: 'open' }),
        warehouse: warehouseId.optional(),
        zone: zoneId.optional(),
        product: productId.optional(),
        limit: pageLimit(200, 50),
        cursor: cursorParam,
      })
      .strict(),
  },
  responses: {
    200: { description: 'one page', content: { 'application/json': { schema: pageBody } } },
    ...notModifiedResponse,
    ...errorResponses,
  },
});

export function registerAlertRoutes(app: ApiApp, { db, cursors, freshness, respond }: RouteContext): void {
  app.openapi(route, async (c) => {
    const q = c.req.valid('query');
    const filters = { status: q.status ?? 'open', warehouseId: q.warehouse, zoneId: q.zone, productId: q.product };
    const scope = filterScope(filters);
    const before = q.cursor === undefined ? undefined : cursors.decode('low-stock-alerts', q.cursor, z.number().int().min(1), scope);
    const limit = q.limit ?? 50;
    const [page, view] = await Promise.all([
      listLowStockAlerts(db, filters, { beforeAlertId: before, limit }),
      readFirstViewFreshness(db, [AGGREGATE_VIEWS.lowStockAlerts]),
    ]);
    const last = page.rows.at(-1);
    const nextCursor = page.hasMore && last ? cursors.encode('low-stock-alerts', last.alertId, scope) : null;
    const f = freshness.forView(AGGREGATE_VIEWS.lowStockAlerts, view);
    const data = page.rows.map(toJson);
    const body: z.infer<typeof pageBody> = { data, nextCursor, freshness: f.json };
    return respond.json(c, body, { etagParts: [data, nextCursor, f.json.lastSourceTime, f.status], status: f.status, lagMs: f.lagMs });
  });
}
