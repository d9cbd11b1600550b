import { OpenAPIHono } from '@hono/zod-openapi';
import { cors } from 'hono/cors';
import { PipelineError } from '../shared/errors.js';
import { createLogRateLimiter } from '../shared/log-rate-limit.js';
import { apiKeyAuth } from './auth.js';
import { createCursorCodec } from './cursor.js';
import type { AppDeps } from './deps.js';
import type { AppEnv } from './env.js';
import { createFreshnessService } from './freshness.js';
import { createHttpMetrics } from './http-metrics.js';
import { problemResponse, toProblem, validationError } from './problem.js';
import { createRateLimiter } from './rate-limiter.js';
import { requestContext, requestLogger } from './request-context.js';
import { requestDeadline } from './request-deadline.js';
import { createResponder } from './respond.js';
import { registerAlertRoutes } from './routes/alerts.js';
import type { ApiApp } from './routes/context.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerInventoryRoutes } from './routes/inventories.js';
import { registerLagRoute } from './routes/lag.js';
import { registerMovementRoutes } from './routes/movements.js';
import { registerViewRoutes } from './routes/views.js';

export type { AppDeps, ReadinessCheck } from './deps.js';
export type { ApiKeyPolicy } from './auth.js';
export type { LagSnapshot } from './lag-schema.js';
export { lagSnapshotSchema } from './lag-schema.js';
export { startApiServer, type ApiServer } from './server.js';

/** Paths that never need an API key: probes, metrics scrapes and the API description. */
const OPEN_PATHS = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json']);

/**
 * The read-only HTTP API over the views (Hono + OpenAPI). Pure construction:
 * no socket, no timers — serve it with startApiServer or call app.request().
 *
 * Guarantees: every parameter is validated by the zod schemas that also
 * generate /openapi.json; every refusal is an RFC 9457 problem body naming
 * the parameter; an unexpected failure is a 500 without internals (logged
 * with the request id); every data answer says how fresh it is and carries a
 * weak ETag and a Cache-Control that does not outlive that freshness; every
 * request is answered within `requestTimeoutMs` (503 problem past it).
 */
export function createApp(deps: AppDeps): ApiApp {
  const { pool: db, logger, metrics, lag, readiness, apiKeys, staleness, readyMaxStalenessMs, clock = Date.now } = deps;
  if (!(staleness.upToDateMs >= 0) || !(staleness.slightlyStaleMs >= staleness.upToDateMs)) {
    throw new PipelineError('CONFIG', `invalid staleness bounds: ${JSON.stringify(staleness)}`);
  }
  const authEnabled = apiKeys !== undefined && apiKeys.size > 0;

  const app: ApiApp = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.target, result.error);
    },
  });

  app.use('*', requestContext({ logger, metrics: createHttpMetrics(metrics) }));
  app.use('*', requestDeadline(deps.requestTimeoutMs ?? 5_000));
  if (deps.cors) {
    const origins = deps.cors.origins;
    app.use(
      '*',
      cors({
        origin: origins.includes('*') ? '*' : origins,
        allowMethods: ['GET', 'HEAD', 'OPTIONS'],
        allowHeaders: ['Authorization', 'If-None-Match', 'X-Request-Id'],
        exposeHeaders: ['ETag', 'X-Request-Id', 'Retry-After', 'RateLimit-Remaining'],
        maxAge: 600,
      }),
    );
  }
  if (authEnabled) {
    const guard = apiKeyAuth({ apiKeys, limiter: createRateLimiter({ clock }) });
    app.use('*', (c, next) => (OPEN_PATHS.has(c.req.path) || c.req.method === 'OPTIONS' ? next() : guard(c, next)));
    app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', { type: 'http', scheme: 'bearer' });
  }

  const freshness = createFreshnessService({ lag, lagMaxAgeMs: deps.lagMaxAgeMs, clock, thresholds: staleness, canaryIntervalMs: deps.canaryIntervalMs ?? 0 });
  const ctx = {
    db,
    cursors: createCursorCodec({ secret: deps.cursorSecret }),
    freshness,
    respond: createResponder({ thresholds: staleness, shared: !authEnabled }),
  };
  registerInventoryRoutes(app, ctx);
  registerMovementRoutes(app, ctx);
  registerViewRoutes(app, { ...ctx, clock });
  registerAlertRoutes(app, ctx);
  registerLagRoute(app, lag);
  registerHealthRoutes(app, {
    db,
    metrics,
    freshness,
    checks: readiness.checks,
    timeoutMs: readiness.timeoutMs ?? 2000,
    readyMaxStalenessMs,
  });
  app.doc('/openapi.json', {
    openapi: '3.0.3',
    info: {
      title: 'Inventory views API',
      version: '1.0.0',
      description:
        'Read-only views of the inventory pipeline. Every answer says how fresh it is (lagSeconds, consistencyStatus: UP_TO_DATE ≤ 1 s < SLIGHTLY_STALE ≤ 5 s < STALE).',
    },
    ...(authEnabled ? { security: [{ apiKey: [] }] } : {}),
  });

  app.notFound((c) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      return problemResponse(
        c,
        { status: 405, code: 'METHOD_NOT_ALLOWED', detail: 'this API is read-only: GET and HEAD only', problems: [], headers: { allow: 'GET, HEAD' } },
      );
    }
    return problemResponse(c, { status: 404, code: 'NOT_FOUND', detail: `no route for ${c.req.path}`, problems: [], headers: {} });
  });

  // A 503 is a dependency that is down or busy (PostgreSQL restarting, pool exhausted): it heals by itself and
  // every request meanwhile gets one, so one warning per code per 30 s. A 500 is a bug: always an error.
  const unavailable = createLogRateLimiter({ intervalMs: 30_000 });
  app.onError((err, c) => {
    const problem = toProblem(err);
    if (problem.status === 503) {
      const { log, suppressed } = unavailable.take(problem.code);
      if (log) requestLogger(c, logger).warn({ err, path: c.req.path, code: problem.code, suppressed }, 'request failed: dependency unavailable');
    } else if (problem.status >= 500) requestLogger(c, logger).error({ err, path: c.req.path, code: problem.code }, 'request failed');
    else if (logger.isLevelEnabled('debug')) requestLogger(c, logger).debug({ code: problem.code, detail: problem.detail }, 'request refused');
    return problemResponse(c, problem);
  });

  return app;
}
