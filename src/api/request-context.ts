import { randomUUID } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { Logger } from '../shared/logger.js';
import type { AppEnv } from './env.js';
import type { HttpMetrics } from './http-metrics.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Outermost middleware: adopts the caller's x-request-id (when well-formed)
 * or makes one, echoes it, writes one access log line (with the id) and the
 * HTTP metrics per request — including answers produced by the error mapper,
 * which run inside it.
 *
 * Hot-path note: the JSON responders put x-request-id into the headers they
 * build (and say so with `requestIdSent`), so the response keeps plain-object
 * headers that @hono/node-server writes without a Headers round trip; any
 * other response gets the header added here afterwards.
 */
export function requestContext({ logger, metrics }: { logger: Logger; metrics: HttpMetrics }): MiddlewareHandler<AppEnv> {
  const accessLog = logger.isLevelEnabled('info');
  return async (c, next) => {
    const started = performance.now();
    const given = c.req.header('x-request-id');
    const requestId = given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
    c.set('requestId', requestId);
    await next();
    if (!c.get('requestIdSent')) {
      for (const [name, value] of Object.entries(perRequestHeaders(c))) c.header(name, value);
    }
    const seconds = (performance.now() - started) / 1000;
    const route = routeLabel(matchedRoutes(c));
    const status = c.res.status;
    metrics.observe({ route, method: c.req.method, status }, seconds);
    if (accessLog) {
      logger.info(
        { requestId, method: c.req.method, route, path: c.req.path, status, durationMs: Math.round(seconds * 1e6) / 1e3, apiKey: c.get('apiKey') },
        'request',
      );
    }
  };
}

function perRequestHeaders(c: Context<AppEnv>): Record<string, string> {
  const headers: Record<string, string> = { 'x-request-id': c.get('requestId') };
  const remaining = c.get('rateLimitRemaining');
  if (remaining !== undefined) headers['ratelimit-remaining'] = String(remaining);
  return headers;
}

/** The per-request headers (request id, rate-limit state) for a response built by hand; marks them as sent. */
export function ownHeaders(c: Context<AppEnv>): Record<string, string> {
  c.set('requestIdSent', true);
  return perRequestHeaders(c);
}

/** The app's logger bound to this request's id (built only when something is logged). */
export const requestLogger = (c: Context<AppEnv>, logger: Logger): Logger => logger.child({ requestId: c.get('requestId') ?? 'none' });

/** The pattern of the handler that matched, or `unmatched` (404s must not create a label per path). */
function routeLabel(routes: ReadonlyArray<{ method: string; path: string }>): string {
  for (let i = routes.length - 1; i >= 0; i--) {
    const r = routes[i]!;
    if (r.method !== 'ALL') return r.path;
  }
  return 'unmatched';
}
