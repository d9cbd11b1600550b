import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';

/**
 * scripts/patch-kafkajs.mjs (postinstall, patch 4) clamps the delay of the
 * request queue's pending-request check: unthrottled, kafkajs 2.2.4 passed
 * setTimeout a large negative number, which Node runs as 1 ms and Node 24
 * reports as a TimeoutNegativeWarning (kafkajs #1751).
 */
const require = createRequire(import.meta.url);
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as new (o: Record<string, unknown>) => {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  scheduleCheckPendingRequests(): void;
  checkPendingRequests(): void;
};
const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const queue = () =>
  new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 30_000, enforceRequestTimeout: true, clientId: 't', broker: 'b:9092', logger });

/** The delays every setTimeout is called with from here on (the timers still run). */
function recordTimerDelays(): number[] {
  const delays: number[] = [];
  const real = globalThis.setTimeout;
  vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
    delays.push(ms ?? 0);
    return real(fn, ms);
  }) as typeof setTimeout);
  return delays;
}

describe('kafkajs request queue timer (patched)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('schedules the unthrottled check 1 ms ahead, never with a negative delay, and runs it', async () => {
    const delays = recordTimerDelays();
    const q = queue();
    const checked = new Promise<void>((resolve) => {
      q.checkPendingRequests = () => resolve();
    });
    q.scheduleCheckPendingRequests();
    await checked;
    expect(delays).toEqual([1]);
  });

  it('keeps a client-side throttle: the check waits until it ends', () => {
    const delays = recordTimerDelays();
    const q = queue();
    q.throttledUntil = Date.now() + 5_000;
    q.scheduleCheckPendingRequests();
    clearTimeout(q.throttleCheckTimeoutId ?? undefined);
    expect(delays[0]).toBeGreaterThan(4_000);
    expect(delays[0]).toBeLessThanOrEqual(5_000);
  });
});
