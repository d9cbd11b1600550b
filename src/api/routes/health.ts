import { createRoute, z } from '@hono/zod-openapi';
import type { Registry } from 'prom-client';
import { errorMessage } from '../../shared/errors.js';
import { groupKind } from '../../shared/group-names.js';
import { readAllViewFreshness } from '../../db/view-freshness.js';
import type { Queryable } from '../../db/queries/queryable.js';
import type { ReadinessCheck } from '../deps.js';
import type { FreshnessService } from '../freshness.js';
import type { ApiApp } from './context.js';
import { transportResponses } from '../schemas.js';

const checkResult = z.object({
  name: z.string(),
  ok: z.boolean(),
  durationMs: z.number(),
  error: z.string().optional(),
});
const readyBody = z.object({ status: z.enum(['ready', 'not_ready']), checks: z.array(checkResult) }).openapi('Readiness');
type CheckResult = z.infer<typeof checkResult>;

const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['operations'],
  summary: 'Liveness: the process answers',
  responses: { 200: { description: 'alive', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } } }, ...transportResponses },
});

const readyRoute = createRoute({
  method: 'get',
  path: '/readyz',
  tags: ['operations'],
  summary: 'Readiness: database and other dependencies reachable, no view stale beyond the configured bound',
  responses: {
    200: { description: 'ready', content: { 'application/json': { schema: readyBody } } },
    503: { description: 'not ready: the failing checks are named', content: { 'application/json': { schema: readyBody } } },
    ...transportResponses,
  },
});

const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['operations'],
  summary: 'Prometheus metrics',
  responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string() } } }, ...transportResponses },
});

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check.check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { name: check.name, ok: true, durationMs: Math.round(performance.now() - started) };
  } catch (err) {
    return { name: check.name, ok: false, durationMs: Math.round(performance.now() - started), error: errorMessage(err).slice(0, 1000) };
  } finally {
    clearTimeout(timer);
  }
}

export interface HealthOptions {
  db: Queryable;
  metrics: Registry;
  freshness: FreshnessService;
  checks: ReadinessCheck[];
  timeoutMs: number;
  readyMaxStalenessMs: number | undefined;
}

export function registerHealthRoutes(app: ApiApp, o: HealthOptions): void {
  const database: ReadinessCheck = {
    name: 'database',
    check: async () => {
      await o.db.query('select 1');
    },
  };
  // Views fail readiness only with a known lag beyond the bound: an empty
  // pipeline (nothing applied yet) is not a reason to take the API out. Only
  // the views the API serves count: a rebuild's shadow tables (group
  // `<live>.rebuild`, running or left by a crash) are not read by anyone.
  const views: ReadinessCheck = {
    name: 'views',
    check: async () => {
      if (o.readyMaxStalenessMs === undefined) return;
      const bound = o.readyMaxStalenessMs;
      const stale = (await readAllViewFreshness(o.db))
        .filter((row) => groupKind(row.groupId) === 'live')
        .map((row) => ({ row, f: o.freshness.forView(row.viewName, row) }))
        .filter(({ f }) => f.lagMs !== null && f.lagMs > bound)
        .map(({ row, f }) => `${row.viewName} ${f.json.lagSeconds} s behind`);
      if (stale.length > 0) throw new Error(`views stale beyond ${bound / 1000} s: ${stale.join(', ')}`);
    },
  };

  app.openapi(healthRoute, (c) => {
    c.header('cache-control', 'no-store');
    return c.json({ status: 'ok' as const }, 200);
  });

  app.openapi(readyRoute, async (c) => {
    const results = await Promise.all([database, ...o.checks, views].map((ch) => runCheck(ch, o.timeoutMs)));
    const ok = results.every((r) => r.ok);
    c.header('cache-control', 'no-store');
    return ok ? c.json({ status: 'ready' as const, checks: results }, 200) : c.json({ status: 'not_ready' as const, checks: results }, 503);
  });

  app.openapi(metricsRoute, async (c) => {
    const body = await o.metrics.metrics();
    c.header('cache-control', 'no-store');
    return c.text(body, 200, { 'content-type': o.metrics.contentType });
  });
}
