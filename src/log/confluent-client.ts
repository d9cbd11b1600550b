import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';
import { PipelineError } from '../shared/errors.js';
import { createLogRateLimiter } from '../shared/log-rate-limit.js';
import type { Logger } from '../shared/logger.js';
import { clientRetriesCounter } from './kafka-log.js';
import type { KafkaSettings } from './kafka.js';

/**
 * @confluentinc/kafka-javascript (librdkafka) as the bridge's producer, through
 * its KafkaJS-compatible API. The package is not a dependency in package.json:
 * its install compiles librdkafka, so only `scripts/stack.sh install
 * --kafka-client confluent` (or BRIDGE_KAFKA_CLIENT=confluent) installs it.
 * That is why it is loaded at run time and why the few parts of its API used
 * here are declared here rather than imported from its types.
 */
export const CONFLUENT_PACKAGE = '@confluentinc/kafka-javascript';

export interface ConfluentMessage {
  key: string;
  /** null: a tombstone. */
  value: Buffer | null;
  headers?: Record<string, string>;
}

export interface ConfluentTopicMessages {
  topic: string;
  messages: ConfluentMessage[];
}

/** The KafkaJS-compatible producer (lib/kafkajs/_producer.js): one transaction at a time, on the producer itself. */
export interface ConfluentProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  transaction(): Promise<ConfluentProducer>;
  sendBatch(batch: { topicMessages: ConfluentTopicMessages[] }): Promise<unknown>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  isActive(): boolean;
}

interface ConfluentKafka {
  producer(config: Record<string, unknown>): ConfluentProducer;
}

interface ConfluentModule {
  KafkaJS: { Kafka: new (config: Record<string, unknown>) => ConfluentKafka };
  librdkafkaVersion: string;
}

/** The client is selected but not installed, or built for another Node (ABI): a person must run the install. */
export class KafkaClientMissingError extends PipelineError {
  constructor(cause: unknown) {
    super(
      'KAFKA_CLIENT_MISSING',
      `BRIDGE_KAFKA_CLIENT=confluent needs ${CONFLUENT_PACKAGE} built for this Node (${process.version}): run \`bash scripts/stack.sh install --kafka-client confluent\``,
      { retriable: false, cause },
    );
  }
}

/**
 * Loads the package (its native addon included) synchronously, so that a
 * process configured for it fails at start-up, not at its first transaction.
 */
export function loadConfluentClient(): ConfluentModule {
  let mod: Partial<ConfluentModule> | undefined;
  try {
    mod = createRequire(import.meta.url)(CONFLUENT_PACKAGE) as Partial<ConfluentModule>;
  } catch (err) {
    throw new KafkaClientMissingError(err);
  }
  if (typeof mod?.KafkaJS?.Kafka !== 'function') throw new KafkaClientMissingError(new Error(`${CONFLUENT_PACKAGE} has no KafkaJS.Kafka`));
  return mod as ConfluentModule;
}

/** librdkafka's codes (lib/error.js) for "another producer owns this transactional id". */
const FENCED_CODES = new Set([
  -144, // ERR__FENCED: fenced by a newer instance (librdkafka's own)
  47, // INVALID_PRODUCER_EPOCH
  90, // PRODUCER_FENCED
  53, // TRANSACTIONAL_ID_AUTHORIZATION_FAILED
]);

/** What a KafkaJSError of the package carries: librdkafka's code and its name (`type`, e.g. ERR__FENCED). */
export function confluentErrorType(err: unknown): { type: string; fenced: boolean } {
  for (let e: unknown = err, depth = 0; e && depth < 6; depth++) {
    const x = e as { code?: unknown; type?: unknown; cause?: unknown };
    if (typeof x.code === 'number') {
      const type = typeof x.type === 'string' && x.type !== '-1' ? x.type.replace(/^ERR_+/, '') : `CODE_${x.code}`;
      return { type, fenced: FENCED_CODES.has(x.code) };
    }
    e = x.cause;
  }
  return { type: (err as { name?: string } | undefined)?.name ?? 'UNKNOWN', fenced: false };
}

/**
 * The package's logger contract (lib/kafkajs/_common.js DefaultLogger), onto
 * ours. librdkafka reports at error level what it then handles by itself (a
 * broker connection refused or lost, a request timed out: it reconnects and
 * retries); these become a rate-limited warn and a
 * `pipeline_client_retries_total{client="confluent"}` increment. What our
 * code cannot recover from reaches it as a rejected call and is reported
 * there at the level it deserves.
 */
function logAdapter(logger: Logger, registry: Registry | undefined) {
  const counter = registry ? clientRetriesCounter(registry) : undefined;
  const limiter = createLogRateLimiter({ intervalMs: 30_000 });
  const fields = { component: 'librdkafka' };
  const handled = (message: string, extra?: Record<string, unknown>) => {
    // "Error: 127.0.0.1:9092/1: Connect to ipv4#127.0.0.1:9092 failed: Connection refused (after 0ms in state CONNECT)"
    const code = /failed: ([A-Za-z ]+)/.exec(message)?.[1]?.trim().toUpperCase().replace(/ /g, '_') ?? message.replace(/[\d.:#/]+/g, '').slice(0, 60);
    counter?.inc({ client: 'confluent', code });
    const { log, suppressed } = limiter.take(code);
    if (log) logger.warn({ ...fields, ...extra, code, suppressed }, `${message} (handled by the client: retried)`);
    else logger.debug({ ...fields, ...extra, code }, message);
  };
  const adapter = {
    error: handled,
    warn: (message: string, extra?: Record<string, unknown>) => logger.warn({ ...fields, ...extra }, message),
    info: (message: string, extra?: Record<string, unknown>) => logger.debug({ ...fields, ...extra }, message),
    debug: (message: string, extra?: Record<string, unknown>) => logger.debug({ ...fields, ...extra }, message),
    namespace: () => adapter,
    setLogLevel: () => undefined,
  };
  return adapter;
}

/** The KafkaJS-compatible client for `settings` (brokers, TLS, SASL as for kafkajs). */
export function createConfluentKafka(settings: KafkaSettings, logger: Logger, options: { clientIdSuffix?: string; registry?: Registry } = {}): ConfluentKafka {
  const { KafkaJS } = loadConfluentClient();
  const sasl =
    settings.saslMechanism === 'none' ? undefined : { mechanism: settings.saslMechanism, username: settings.saslUsername, password: settings.saslPassword };
  return new KafkaJS.Kafka({
    kafkaJS: {
      brokers: settings.brokers,
      clientId: options.clientIdSuffix ? `${settings.clientId}-${options.clientIdSuffix}` : settings.clientId,
      ssl: settings.ssl,
      ...(sasl ? { sasl } : {}),
      connectionTimeout: 5_000,
      requestTimeout: 30_000,
      logLevel: 2, // WARN: librdkafka emits nothing below
      logger: logAdapter(logger, options.registry),
    },
  });
}
