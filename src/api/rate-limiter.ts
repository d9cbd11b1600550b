/** Token-bucket parameters of one API key. */
export interface BucketPolicy {
  /** Sustained rate: tokens added per second. */
  ratePerSecond: number;
  /** Bucket size: how many requests may arrive at once after a quiet period. */
  burst: number;
}

export interface TakeResult {
  allowed: boolean;
  /** Whole tokens left after this request. */
  remaining: number;
  /** When refused: seconds until one token is available (≥ 1, for Retry-After). */
  retryAfterSeconds: number;
}

export interface RateLimiter {
  take(key: string, policy: BucketPolicy): TakeResult;
}

/**
 * One token bucket per key, refilled continuously from `clock` (ms). A bucket
 * starts full. State is per process: with N API instances a key may use N×
 * its rate — acceptable for abuse protection, not for billing.
 */
export function createRateLimiter({ clock = Date.now }: { clock?: () => number } = {}): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key, { ratePerSecond, burst }) {
      if (!(ratePerSecond > 0) || !(burst >= 1)) throw new Error(`invalid rate limit for ${key}: rate ${ratePerSecond}, burst ${burst}`);
      const now = clock();
      const b = buckets.get(key) ?? { tokens: burst, at: now };
      // A clock that goes backwards must not mint tokens.
      const elapsed = Math.max(0, now - b.at) / 1000;
      b.tokens = Math.min(burst, b.tokens + elapsed * ratePerSecond);
      b.at = Math.max(b.at, now);
      buckets.set(key, b);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return { allowed: true, remaining: Math.floor(b.tokens), retryAfterSeconds: 0 };
      }
      const waitSeconds = (1 - b.tokens) / ratePerSecond;
      return { allowed: false, remaining: 0, retryAfterSeconds: Math.max(1, Math.ceil(waitSeconds)) };
    },
  };
}
