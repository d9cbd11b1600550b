/**
 * At most one log line per key per interval, for conditions that can repeat
 * many times a second while they last (a client retrying through a broker
 * restart). The line that does get through says how many were held back
 * since the previous one, so nothing is lost but the repetition.
 */
export interface LogRateLimiter {
  /** Whether to log this occurrence of `key` now; `suppressed` = occurrences held back since the last logged one. */
  take(key: string): { log: boolean; suppressed: number };
}

export function createLogRateLimiter(options: { intervalMs?: number; now?: () => number; maxKeys?: number } = {}): LogRateLimiter {
  const { intervalMs = 30_000, now = Date.now, maxKeys = 1_000 } = options;
  if (!(intervalMs >= 0)) throw new RangeError(`intervalMs must be >= 0, got ${intervalMs}`);
  const state = new Map<string, { loggedAt: number; suppressed: number }>();
  return {
    take(key) {
      const t = now();
      const s = state.get(key);
      if (s && t - s.loggedAt < intervalMs) {
        s.suppressed++;
        return { log: false, suppressed: s.suppressed };
      }
      const suppressed = s?.suppressed ?? 0;
      // Keys are error codes (a bounded set); the cap only guards against a caller keying by something unbounded.
      if (!s && state.size >= maxKeys) state.delete(state.keys().next().value!);
      state.set(key, { loggedAt: t, suppressed: 0 });
      return { log: true, suppressed };
    },
  };
}
