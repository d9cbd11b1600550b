import type { Registry } from 'prom-client';
import type { Logger } from '../shared/logger.js';
import type { Queryable } from '../db/queries/queryable.js';
import type { ApiKeyPolicy } from './auth.js';
import type { StalenessThresholds } from './consistency.js';
import type { LagSnapshot } from './lag-schema.js';

export interface ReadinessCheck {
  name: string;
  /** Resolves when the dependency is usable; rejects (with a short message) when not. */
  check(): Promise<void>;
}

/** Everything the API needs, passed in by the composition root (nothing is read from process.env here). */
export interface AppDeps {
  /** Pool of the read-only database role. */
  pool: Queryable;
  logger: Logger;
  /** Registry for the HTTP metrics; the caller registers the default process metrics on it. */
  metrics: Registry;
  /** The lag monitor's latest snapshot, when the monitor runs in this process (`() => monitor.snapshot()`). */
  lag?: () => LagSnapshot | undefined;
  /** A snapshot older than this is ignored for lagSeconds (the monitor stopped); default 30 s — use ≥ 3 poll intervals. */
  lagMaxAgeMs?: number;
  /** Extra readiness checks (Kafka, ...); the API's own database check is built in. */
  readiness: { checks: ReadinessCheck[]; timeoutMs?: number };
  /** Bearer API keys (key → policy); absent or empty = no authentication. */
  apiKeys?: ReadonlyMap<string, ApiKeyPolicy>;
  /** Allowed CORS origins (`*` allows any); absent = no CORS headers. */
  cors?: { origins: string[] };
  staleness: StalenessThresholds;
  /** The end-to-end canary's interval (CANARY_INTERVAL_MS); 0 or absent: no canary, answers never UP_TO_DATE. */
  canaryIntervalMs?: number;
  /** /readyz fails while any view's lag exceeds this; absent = views never fail readiness. */
  readyMaxStalenessMs?: number;
  /** Epoch-ms clock (tests inject one). */
  clock?: () => number;
  /** Budget of one request (API_REQUEST_TIMEOUT_MS): past it, 503 problem+json with Retry-After. Default 5 s. */
  requestTimeoutMs?: number;
  /** HMAC secret of pagination cursors; instances behind one load balancer must share it. */
  cursorSecret?: string;
}
