import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './env.js';
import { ApiError } from './errors.js';

/**
 * Every request is answered within `budgetMs`: past it the answer is a 503
 * problem (code TIMEOUT, Retry-After) whatever the handler is waiting for.
 * The database's own bounds (statement_timeout, the pool's connection and
 * query timeouts) end the abandoned work and free its connection; this bound
 * is the one a caller can rely on, also when several queries of one request
 * each stay within theirs, or when PostgreSQL is frozen and no server-side
 * timeout can fire.
 */
export function requestDeadline(budgetMs: number): MiddlewareHandler<AppEnv> {
  if (!(budgetMs > 0)) throw new RangeError(`request budget must be positive, got ${budgetMs}`);
  return async (_c, next) => {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ApiError(503, 'TIMEOUT', `no answer within ${budgetMs} ms: a backing service is slow or unreachable; retry shortly`, {
              headers: { 'retry-after': '1' },
            }),
          ),
        budgetMs,
      );
    });
    try {
      // The handler goes on after an expiry; its late result or error is dropped (race keeps a
      // handler on it, so a late rejection is not unhandled).
      await Promise.race([next(), expired]);
    } finally {
      clearTimeout(timer);
    }
  };
}
