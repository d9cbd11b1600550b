import type { Context } from 'hono';
import type { ConsistencyStatus, StalenessThresholds } from './consistency.js';
import type { AppEnv } from './env.js';
import { cacheControl, etagMatches, weakEtag } from './http-cache.js';
import { ownHeaders } from './request-context.js';

export interface Responder {
  /**
   * A 200 JSON answer with a weak ETag — `etag` as given (versionEtag), or a
   * hash over `etagParts` — and a Cache-Control bounded by the answer's
   * freshness, or a 304 when If-None-Match matches.
   */
  json(
    c: Context<AppEnv>,
    body: unknown,
    freshness: ({ etag: string; etagParts?: undefined } | { etagParts: unknown; etag?: undefined }) & { status: ConsistencyStatus; lagMs: number | null },
  ): Response;
}

export function createResponder({ thresholds, shared }: { thresholds: StalenessThresholds; shared: boolean }): Responder {
  return {
    json(c, body, { etag: given, etagParts, status, lagMs }) {
      const etag = given ?? weakEtag(etagParts);
      const headers: Record<string, string> = {
        ...ownHeaders(c),
        etag,
        'cache-control': cacheControl(status, lagMs, thresholds, { shared }),
      };
      if (!shared) headers.vary = 'Authorization';
      if (etagMatches(c.req.header('if-none-match'), etag)) return new Response(null, { status: 304, headers });
      headers['content-type'] = 'application/json; charset=utf-8';
      // Plain-object headers straight into the Response: @hono/node-server writes them without a Headers object.
      return new Response(JSON.stringify(body), { status: 200, headers });
    },
  };
}
