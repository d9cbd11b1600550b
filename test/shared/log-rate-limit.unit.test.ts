import { describe, expect, it } from 'vitest';
import { createLogRateLimiter } from '../../src/shared/log-rate-limit.js';

describe('log rate limiter', () => {
  it('lets one line per key per interval through and counts the rest', () => {
    let t = 0;
    const l = createLogRateLimiter({ intervalMs: 30_000, now: () => t });
    expect(l.take('A')).toEqual({ log: true, suppressed: 0 });
    expect(l.take('A')).toEqual({ log: false, suppressed: 1 });
    expect(l.take('B')).toEqual({ log: true, suppressed: 0 }); // keys are independent
    t = 29_999;
    expect(l.take('A')).toEqual({ log: false, suppressed: 2 });
    t = 30_000;
    expect(l.take('A')).toEqual({ log: true, suppressed: 2 }); // reports what was held back
    expect(l.take('A')).toEqual({ log: false, suppressed: 1 });
  });

  it('keeps a bounded number of keys', () => {
    const l = createLogRateLimiter({ intervalMs: 1_000, now: () => 0, maxKeys: 2 });
    l.take('a');
    l.take('b');
    l.take('c'); // evicts a
    expect(l.take('a').log).toBe(true);
    expect(l.take('c').log).toBe(false);
  });
});
