import { isRetriable } from './errors.js';

export interface RetryOptions {
  /** Attempts in total, the first included. */
  attempts: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  factor?: number;
  /** Which errors may be retried; defaults to {@link isRetriable}. */
  retryOn?: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
}

/** Full-jitter exponential backoff: uniformly random in [0, min(max, initial·factor^n)]. */
export function backoffDelay(attempt: number, initialDelayMs: number, maxDelayMs: number, factor = 2): number {
  const cap = Math.min(maxDelayMs, initialDelayMs * factor ** attempt);
  return Math.round(Math.random() * cap);
}

/**
 * Runs `fn` until it succeeds, a non-retriable error is thrown, or attempts are
 * used up; the last error is rethrown unchanged.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { attempts, initialDelayMs = 100, maxDelayMs = 5_000, factor = 2, retryOn = isRetriable } = options;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt + 1 >= attempts || !retryOn(err) || options.signal?.aborted) throw err;
      const delay = backoffDelay(attempt, initialDelayMs, maxDelayMs, factor);
      options.onRetry?.(err, attempt + 1, delay);
      await sleep(delay, options.signal);
    }
  }
}

/** Resolves after `ms`, or early (without throwing) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
