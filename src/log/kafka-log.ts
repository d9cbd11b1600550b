import { createRequire } from 'node:module';
import { logLevel, type logCreator } from 'kafkajs';
import { Counter, type Registry } from 'prom-client';
import { createLogRateLimiter, type LogRateLimiter } from '../shared/log-rate-limit.js';
import type { Logger } from '../shared/logger.js';

/**
 * kafkajs' own log lines, mapped so that ERROR means a person should look.
 *
 * kafkajs logs at ERROR many conditions it then handles by itself: a broker
 * response with a retriable error code (CONCURRENT_TRANSACTIONS while the
 * previous transaction's markers are written, NOT_COORDINATOR,
 * REBALANCE_IN_PROGRESS, LEADER_NOT_AVAILABLE...), a connection that failed
 * and is re-established, a send it retries, a consumer it restarts. These
 * become one warn line per code per 30 s (with the count held back) and a
 * `pipeline_client_retries_total{client="kafkajs",code}` increment each.
 * A response error is also thrown to whoever made the request, which either
 * retries it (kafkajs' retrier) or fails — and then our code reports the
 * failure at the level it deserves; the Connection line itself is never the
 * one a person needs. What stays at ERROR: offsets reset because they were
 * out of range (records may be skipped), failing SASL authentication,
 * failing event listeners (our bug), and anything not recognised below.
 */
export type KafkajsLogDecision =
  | { level: 'error' | 'warn' | 'info' | 'debug' }
  /** Handled by the client: logged at warn at most once per code per interval, and counted. */
  | { level: 'retried'; code: string };

interface ProtocolErrorCode {
  type: string;
  retriable: boolean;
  message: string;
}

/** kafkajs' table of Kafka protocol errors (type, message): its logs carry only the message. */
const protocolErrors: ProtocolErrorCode[] = (() => {
  try {
    const table: unknown = createRequire(import.meta.url)('kafkajs/src/protocol/error.js');
    const codes = (table as { errorCodes?: unknown }).errorCodes;
    return Array.isArray(codes) ? (codes as ProtocolErrorCode[]) : [];
  } catch {
    return []; // another client version without the table: codes fall back to PROTOCOL_ERROR
  }
})();
const typeByMessage = new Map(protocolErrors.map((e) => [e.message, e.type]));
const nonRetriable = new Set(protocolErrors.filter((e) => !e.retriable).map((e) => e.type));

/** The protocol error type (e.g. CONCURRENT_TRANSACTIONS) of a kafkajs error message, or a connection errno. */
export function kafkaErrorCode(message: string): string | undefined {
  const exact = typeByMessage.get(message);
  if (exact) return exact;
  for (const [m, type] of typeByMessage) if (message.startsWith(m)) return type;
  const errno = /\b(E[A-Z]{3,}[A-Z_]*)\b/.exec(message)?.[1];
  if (errno) return errno;
  if (/Connection timeout/i.test(message)) return 'CONNECTION_TIMEOUT';
  if (/Request .* timed out/i.test(message)) return 'REQUEST_TIMEOUT';
  if (/Connection error|Connection closed|Closed connection|Not connected/i.test(message)) return 'CONNECTION_ERROR';
  return undefined;
}

const strip = (message: string, prefix: string) => (message.startsWith(prefix) ? message.slice(prefix.length) : message);

/** How one kafkajs log line should be logged (pure: unit-tested on the lines kafkajs 2.2.4 emits). */
export function classifyKafkajsLog(namespace: string, level: number, message: string, extra: Record<string, unknown>): KafkajsLogDecision {
  if (level !== logLevel.ERROR) {
    return { level: level === logLevel.WARN ? 'warn' : level === logLevel.INFO ? 'info' : 'debug' };
  }
  const error = typeof extra.error === 'string' ? extra.error : undefined;
  const inRetrier = typeof extra.retryCount === 'number';

  if (namespace === 'Connection') {
    // "Response <Api>(key, version)" with the broker's error: thrown to the caller, which retries or reports it.
    if (message.startsWith('Response ')) return { level: 'retried', code: (error && kafkaErrorCode(error)) ?? 'PROTOCOL_ERROR' };
    // "Connection error: connect ECONNREFUSED …", "Connection timeout": the request fails retriably and the client reconnects.
    return { level: 'retried', code: kafkaErrorCode(message) ?? 'CONNECTION_ERROR' };
  }
  if (namespace === 'ConsumerGroup' && message.startsWith('Offset out of range')) return { level: 'error' };
  if (message.startsWith('Failed to execute listener')) return { level: 'error' };
  if (namespace === 'Consumer') {
    if (message.startsWith('Restarting the consumer')) return { level: 'retried', code: 'CONSUMER_RESTART' };
    // "Crash: <name>: <message>": kafkajs restarts the consumer when the cause is retriable (the line above
    // follows); otherwise our runner's CRASH listener reports it.
    if (message.startsWith('Crash: ')) return { level: 'warn' };
    if (message.startsWith('Caught error when')) return { level: 'warn' };
    return { level: 'error' };
  }
  if (namespace === 'Runner') {
    if (message.startsWith('The coordinator is not aware of this member')) return { level: 'retried', code: 'UNKNOWN_MEMBER_ID' };
    // "Error when calling eachBatch/eachMessage": our handler's error, which our runner reports itself.
    if (message.startsWith('Error when calling each')) return { level: 'warn' };
    return { level: 'error' };
  }
  if (inRetrier && (namespace === 'Producer' || namespace === 'BrokerPool')) {
    // Logged inside kafkajs' retrier before it tries again. A non-retriable protocol error (a fenced
    // producer, a too large message) is thrown to our code instead, which reports it at its level.
    const inner = strip(strip(message, 'Failed to send messages: '), 'Failed to connect to seed broker, trying another broker from the list: ');
    const code = kafkaErrorCode(inner) ?? 'UNKNOWN';
    return nonRetriable.has(code) ? { level: 'warn' } : { level: 'retried', code };
  }
  return { level: 'error' };
}

export interface KafkajsLogOptions {
  /** Registry for `pipeline_client_retries_total`; without one, retries are only logged. */
  registry?: Registry;
  /** Minimum time between two warn lines of the same code (default 30 s). */
  retryLogIntervalMs?: number;
}

const retryCounters = new WeakMap<Registry, Counter<'client' | 'code'>>();

/** `pipeline_client_retries_total{client,code}`: errors a client handled by retrying (one per registry). */
export function clientRetriesCounter(registry: Registry): Counter<'client' | 'code'> {
  let c = retryCounters.get(registry);
  if (!c) {
    c = new Counter({
      name: 'pipeline_client_retries_total',
      help: 'Errors a client library handled by itself (retried request, reconnect, consumer restart), by client and error code. Logged at warn, rate-limited.',
      labelNames: ['client', 'code'],
      registers: [registry],
    });
    retryCounters.set(registry, c);
  }
  return c;
}

/** A kafkajs logCreator writing to pino with the levels above. */
export function kafkajsLogCreator(logger: Logger, options: KafkajsLogOptions = {}): logCreator {
  const counter = options.registry ? clientRetriesCounter(options.registry) : undefined;
  const limiter: LogRateLimiter = createLogRateLimiter({ intervalMs: options.retryLogIntervalMs ?? 30_000 });
  return () =>
    ({ namespace, level, log }) => {
      const { message: text, timestamp: _t, logger: _l, ...extra } = log;
      const raw: unknown = text;
      const fields = { component: 'kafkajs', namespace, ...extra };
      // kafkajs passes an Error object as the message in one place (BrokerPool, a connect failure it gives up on).
      const isText = typeof raw === 'string';
      const message = isText ? raw : raw instanceof Error ? raw.message : String(raw);
      const d = isText ? classifyKafkajsLog(namespace, level, message, extra) : { level: level === logLevel.ERROR ? ('error' as const) : ('warn' as const) };
      if (d.level === 'retried') {
        counter?.inc({ client: 'kafkajs', code: d.code });
        const { log: now, suppressed } = limiter.take(d.code);
        if (now) logger.warn({ ...fields, code: d.code, suppressed }, `${message} (handled by the client: retried)`);
        else logger.debug({ ...fields, code: d.code }, message);
        return;
      }
      logger[d.level](fields, message);
    };
}
