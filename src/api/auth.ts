import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './env.js';
import { ApiError } from './errors.js';
import type { BucketPolicy, RateLimiter } from './rate-limiter.js';

export interface ApiKeyPolicy extends BucketPolicy {
  /** Who the key belongs to (logs, never the key itself). */
  name: string;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/**
 * Bearer API keys with a token bucket per key. Keys are held only as SHA-256
 * digests and looked up by digest, so the comparison does not leak the key
 * through timing. Missing/unknown key → 401 with WWW-Authenticate; over the
 * rate → 429 with Retry-After.
 */
export function apiKeyAuth({
  apiKeys,
  limiter,
}: {
  apiKeys: ReadonlyMap<string, ApiKeyPolicy>;
  limiter: RateLimiter;
}): MiddlewareHandler<AppEnv> {
  const byDigest = new Map<string, ApiKeyPolicy & { bucket: string }>();
  for (const [key, policy] of apiKeys) {
    if (key.length < 16) throw new Error(`API key of ${policy.name} is too short (at least 16 characters)`);
    if (!(policy.ratePerSecond > 0) || !(policy.burst >= 1)) throw new Error(`invalid rate limit for API key ${policy.name}`);
    const digest = sha256(key);
    byDigest.set(digest, { ...policy, bucket: digest });
  }
  return async (c, next) => {
    const header = c.req.header('authorization');
    const match = header === undefined ? null : /^Bearer[ ]+([\x21-\x7e]{1,512})$/i.exec(header.trim());
    if (!match) {
      throw new ApiError(401, 'UNAUTHENTICATED', 'an API key is required: Authorization: Bearer <key>', {
        headers: { 'www-authenticate': 'Bearer realm="api"' },
      });
    }
    const policy = byDigest.get(sha256(match[1]!));
    if (!policy) {
      throw new ApiError(401, 'INVALID_API_KEY', 'unknown API key', {
        headers: { 'www-authenticate': 'Bearer realm="api", error="invalid_token"' },
      });
    }
    c.set('apiKey', policy.name);
    const taken = limiter.take(policy.bucket, policy);
    if (!taken.allowed) {
      throw new ApiError(429, 'RATE_LIMITED', `API key ${policy.name} is over its rate of ${policy.ratePerSecond}/s`, {
        headers: { 'retry-after': String(taken.retryAfterSeconds) },
      });
    }
    c.set('rateLimitRemaining', taken.remaining);
    await next();
  };
}
