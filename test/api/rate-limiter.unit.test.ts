import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../src/api/rate-limiter.js';

describe('token-bucket rate limiter (injected clock)', () => {
  const policy = { ratePerSecond: 2, burst: 3 };

  it('allows a burst, then refuses with Retry-After until a token refills', () => {
    let now = 1_000_000;
    const limiter = createRateLimiter({ clock: () => now });
    expect([1, 2, 3].map(() => limiter.take('k', policy).allowed)).toEqual([true, true, true]);
    const refused = limiter.take('k', policy);
    expect(refused).toEqual({ allowed: false, remaining: 0, retryAfterSeconds: 1 });
    now += 499;
    expect(limiter.take('k', policy).allowed).toBe(false);
    now += 1;
    expect(limiter.take('k', policy)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('sustains exactly the configured rate over time', () => {
    let now = 0;
    const limiter = createRateLimiter({ clock: () => now });
    let allowed = 0;
    for (let ms = 0; ms < 10_000; ms += 10) {
      now = ms;
      if (limiter.take('k', policy).allowed) allowed++;
    }
    // burst + rate × 10 s (the last refill lands just after the loop ends)
    expect(allowed).toBeGreaterThanOrEqual(3 + 19);
    expect(allowed).toBeLessThanOrEqual(3 + 20);
  });

  it('keeps keys apart and never mints tokens when the clock goes backwards', () => {
    let now = 10_000;
    const limiter = createRateLimiter({ clock: () => now });
    for (let i = 0; i < 3; i++) limiter.take('a', policy);
    expect(limiter.take('a', policy).allowed).toBe(false);
    expect(limiter.take('b', policy).allowed).toBe(true);
    now = 0;
    expect(limiter.take('a', policy).allowed).toBe(false);
  });

  it('computes Retry-After in whole seconds for slow rates', () => {
    const limiter = createRateLimiter({ clock: () => 0 });
    const slow = { ratePerSecond: 0.1, burst: 1 };
    expect(limiter.take('s', slow).allowed).toBe(true);
    expect(limiter.take('s', slow).retryAfterSeconds).toBe(10);
  });

  it('refuses nonsensical policies', () => {
    const limiter = createRateLimiter();
    expect(() => limiter.take('k', { ratePerSecond: 0, burst: 1 })).toThrow(/invalid rate limit/);
    expect(() => limiter.take('k', { ratePerSecond: 1, burst: 0 })).toThrow(/invalid rate limit/);
  });
});
