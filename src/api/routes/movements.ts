import { createRoute, z } from '@hono/zod-openapi';
import { readFirstViewFreshness } from '../../db/view-freshness.js';
import { resolvePersistenceId } from '../../db/queries/inventories.js';
import { MOVEMENTS_VIEW, listMovements, type MovementRow } from '../../db/queries/movements.js';
import { filterScope } from '../cursor.js';
import { invalidParameter, notFound } from '../errors.js';
import {
  cursorParam,
  errorResponses,
  inventoryIdParam,
  isoDateTime,
  notFoundResponse,
  notModifiedResponse,
  pageLimit,
  pageSchema,
} from '../schemas.js';
import type { ApiApp, RouteContext } from './context.js';

const movementSchema = z
  .object({
    sequenceNr: z.number().int(),
    eventId: z.string(),
    eventType: z.string(),
    movementType: z.string(),
    quantity: z.number().int(),
    onHandBefore: z.number().int(),
    onHandAfter: z.number().int(),
    reservedBefore: z.number().int(),
    reservedAfter: z.number().int(),
    warehouseId: z.string(),
    zoneId: z.string(),
    eventTime: z.string(),
    correlationId: z.string(),
    causationId: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()),
    recordedAt: z.string(),
  })
  .openapi('Movement');

const toJson = (r: MovementRow): z.infer<typeof movementSchema> => ({
  sequenceNr: r.sequenceNr,
  eventId: r.eventId,
  eventType: r.eventType,
  movementType: r.movementType,
  quantity: r.quantity,
  onHandBefore: r.onHandBefore,
  onHandAfter: r.onHandAfter,
  reservedBefore: r.reservedBefore,
  reservedAfter: r.reservedAfter,
  warehouseId: r.warehouseId,
  zoneId: r.zoneId,
  eventTime: r.eventTime.toISOString(),
  correlationId: r.correlationId,
  causationId: r.causationId,
  detail: r.detail,
  recordedAt: r.recordedAt.toISOString(),
});

const pageBody = pageSchema(movementSchema).openapi('MovementPage');

const route = createRoute({
  method: 'get',
  path: '/inventories/{id}/movements',
  tags: ['inventories'],
  summary: "An inventory's movement history (audit log), oldest first",
  request: {
    params: z.object({ id: inventoryIdParam }),
    query: z
      .object({
        from: isoDateTime.optional().openapi({ description: 'event time ≥ from; not after to (400)' }),
        to: isoDateTime.optional().openapi({ description: 'event time < to' }),
        limit: pageLimit(200, 50),
        cursor: cursorParam,
      })
      .strict(),
  },
  responses: {
    200: { description: 'one page', content: { 'application/json': { schema: pageBody } } },
    ...notModifiedResponse,
    ...notFoundResponse,
    ...errorResponses,
  },
});

export function registerMovementRoutes(app: ApiApp, { db, cursors, freshness, respond }: RouteContext): void {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const q = c.req.valid('query');
    const from = q.from === undefined ? undefined : new Date(q.from);
    const to = q.to === undefined ? undefined : new Date(q.to);
    if (from && to && from > to) throw invalidParameter('query', 'from', 'must not be after to');
    const persistenceId = await resolvePersistenceId(db, id);
    if (persistenceId === undefined) throw notFound(`inventory ${id}`);
    const scope = filterScope({ persistenceId, from, to });
    const after = q.cursor === undefined ? undefined : cursors.decode('movements', q.cursor, z.number().int().min(0), scope);
    const limit = q.limit ?? 50;
    const [page, view] = await Promise.all([
      listMovements(db, persistenceId, { from, to }, { afterSequenceNr: after, limit }),
      readFirstViewFreshness(db, [MOVEMENTS_VIEW]),
    ]);
    const last = page.rows.at(-1);
    const nextCursor = page.hasMore && last ? cursors.encode('movements', last.sequenceNr, scope) : null;
    const f = freshness.forView(MOVEMENTS_VIEW, view);
    const data = page.rows.map(toJson);
    const body: z.infer<typeof pageBody> = { data, nextCursor, freshness: f.json };
    return respond.json(c, body, { etagParts: [data, nextCursor, f.json.lastSourceTime, f.status], status: f.status, lagMs: f.lagMs });
  });
}
