import { createRoute, z } from '@hono/zod-openapi';
import { readFirstViewFreshness } from '../../db/view-freshness.js';
import { INVENTORIES_VIEW, createInventoryLookup, listInventories, type InventoryRow } from '../../db/queries/inventories.js';
import { filterScope } from '../cursor.js';
import type { ConsistencyStatus } from '../consistency.js';
import { notFound } from '../errors.js';
import { versionEtag } from '../http-cache.js';
import { validationError } from '../problem.js';
import {
  booleanFlag,
  category,
  consistencyStatusSchema,
  cursorParam,
  errorResponses,
  freshnessSchema,
  inventoryIdParam,
  isInventoryId,
  notFoundResponse,
  notModifiedResponse,
  pageLimit,
  pageSchema,
  productId,
  storageCondition,
  warehouseId,
  zoneId,
} from '../schemas.js';
import type { ApiApp, RouteContext } from './context.js';

const inventorySchema = z
  .object({
    inventoryId: z.string(),
    persistenceId: z.string(),
    productId: z.string(),
    warehouseId: z.string(),
    zoneId: z.string(),
    productStorageCondition: z.string(),
    zoneType: z.string(),
    onHand: z.number().int(),
    reserved: z.number().int(),
    available: z.number().int(),
    violations: z.number().int(),
    lastSequenceNr: z.number().int(),
    lastEventAt: z.string().openapi({ description: 'command-side time of the newest applied event' }),
    lastSourceWrittenAt: z.string().nullable().openapi({ description: 'journal written_at of the newest applied event' }),
    lastUpdatedAt: z.string().openapi({ description: 'when the read model row was last written' }),
  })
  .openapi('Inventory');

const inventoryAnswerSchema = inventorySchema
  .extend({
    lagSeconds: z.number().nullable().openapi({ description: 'how far behind the journal this answer may be (see Freshness)' }),
    consistencyStatus: consistencyStatusSchema,
    freshness: freshnessSchema,
  })
  .openapi('InventoryWithConsistency');

type InventoryJson = z.infer<typeof inventorySchema>;

const toJson = (r: InventoryRow): InventoryJson => ({
  inventoryId: r.inventoryId,
  persistenceId: r.persistenceId,
  productId: r.productId,
  warehouseId: r.warehouseId,
  zoneId: r.zoneId,
  productStorageCondition: r.productStorageCondition,
  zoneType: r.zoneType,
  onHand: r.onHand,
  reserved: r.reserved,
  available: r.available,
  violations: r.violations,
  lastSequenceNr: r.lastSequenceNr,
  lastEventAt: r.lastEventAt.toISOString(),
  lastSourceWrittenAt: r.lastSourceWrittenAt ? r.lastSourceWrittenAt.toISOString() : null,
  lastUpdatedAt: r.updatedAt.toISOString(),
});

const getInventory = createRoute({
  method: 'get',
  path: '/inventories/{id}',
  tags: ['inventories'],
  summary: 'One inventory (read model) with how fresh it is',
  request: { params: z.object({ id: inventoryIdParam }) },
  responses: {
    200: { description: 'the inventory', content: { 'application/json': { schema: inventoryAnswerSchema } } },
    ...notModifiedResponse,
    ...notFoundResponse,
    ...errorResponses,
  },
});

const listQuery = z
  .object({
    warehouse: warehouseId.optional(),
    zone: zoneId.optional(),
    product: productId.optional(),
    category: category.optional(),
    storageCondition: storageCondition.optional(),
    belowThreshold: booleanFlag.optional().openapi({ description: "true: available below the zone's low-stock threshold" }),
    limit: pageLimit(200, 50),
    cursor: cursorParam,
  })
  .strict();

const listRoute = createRoute({
  method: 'get',
  path: '/inventories',
  tags: ['inventories'],
  summary: 'Inventories matching filters, in persistence id order (keyset pagination)',
  request: { query: listQuery },
  responses: {
    200: {
      description: 'one page',
      content: { 'application/json': { schema: pageSchema(inventorySchema).openapi('InventoryPage') } },
    },
    ...notModifiedResponse,
    ...errorResponses,
  },
});

const idParams = z.object({ id: inventoryIdParam });
const STATUS_TAG: Record<ConsistencyStatus, string> = { UP_TO_DATE: 'u', SLIGHTLY_STALE: 's', STALE: 'x' };

export function registerInventoryRoutes(app: ApiApp, { db, cursors, freshness, respond }: RouteContext): void {
  // The busiest route, kept lean (bench/api-latency.ts): the document comes from the same route definition,
  // the id is checked by the schema's own pattern and zod is asked only to word a refusal.
  // Concurrent lookups share one statement per turn of the event loop (createInventoryLookup).
  const findInventory = createInventoryLookup(db);
  app.openAPIRegistry.registerPath(getInventory);
  app.get('/inventories/:id', async (c) => {
    const id = c.req.param('id');
    if (!isInventoryId(id)) {
      const parsed = idParams.safeParse({ id });
      if (!parsed.success) throw validationError('param', parsed.error);
    }
    const found = await findInventory(id);
    if (!found) throw notFound(`inventory ${id}`);
    const r = found.inventory;
    const f = freshness.forInventory(r, found.freshness);
    const body: z.infer<typeof inventoryAnswerSchema> = {
      ...toJson(r),
      lagSeconds: f.json.lagSeconds,
      consistencyStatus: f.status,
      freshness: f.json,
    };
    // The row's version (sequence number + write time, to the millisecond the body shows) and the status identify
    // the answer at this URL (the URL names the inventory); hashing the body is not needed.
    const etag = versionEtag([r.lastSequenceNr, r.updatedAt.getTime(), STATUS_TAG[f.status]]);
    return respond.json(c, body, { etag, status: f.status, lagMs: f.lagMs });
  });

  app.openapi(listRoute, async (c) => {
    const q = c.req.valid('query');
    const filters = {
      warehouseId: q.warehouse,
      zoneId: q.zone,
      productId: q.product,
      category: q.category,
      storageCondition: q.storageCondition,
      belowThreshold: q.belowThreshold === undefined ? undefined : q.belowThreshold === 'true',
    };
    const scope = filterScope(filters);
    const after = q.cursor === undefined ? undefined : cursors.decode('inventories', q.cursor, z.string().min(1).max(256), scope);
    const limit = q.limit ?? 50;
    const [page, view] = await Promise.all([
      listInventories(db, filters, { afterPersistenceId: after, limit }),
      readFirstViewFreshness(db, [INVENTORIES_VIEW]),
    ]);
    const last = page.rows.at(-1);
    const nextCursor = page.hasMore && last ? cursors.encode('inventories', last.persistenceId, scope) : null;
    const f = freshness.forView(INVENTORIES_VIEW, view);
    const data = page.rows.map(toJson);
    const body: z.infer<typeof listRoute.responses[200]['content']['application/json']['schema']> = {
      data,
      nextCursor,
      freshness: f.json,
    };
    return respond.json(c, body, { etagParts: [data, nextCursor, f.json.lastSourceTime, f.status], status: f.status, lagMs: f.lagMs });
  });
}
