import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { Registry } from 'prom-client';
import { PipelineError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { loadConfluentClient } from './confluent-client.js';
import type { LogClient } from './port.js';
import { kafkajsLogCreator } from './kafka-log.js';

/**
 * The only place the Kafka client library is constructed. Only src/log/
 * imports kafkajs: the rest of the pipeline holds a {@link LogClient}
 * (port.ts), and the modules here that need more of the client than the port
 * shows (transactions, raw fetches, raw requests) unwrap it with
 * {@link kafkajsOf}.
 */
export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  ssl: boolean;
  saslMechanism: 'none' | 'plain' | 'scram-sha-256' | 'scram-sha-512';
  saslUsername: string;
  saslPassword: string;
  /**
   * The client of the bridge's producer (BRIDGE_KAFKA_CLIENT): kafkajs, or
   * confluent (@confluentinc/kafka-javascript on librdkafka). Everything else
   * runs on kafkajs either way.
   */
  sinkClient?: SinkClientName;
}

export type SinkClientName = 'kafkajs' | 'confluent';

/** The Kafka part of the pipeline's configuration (structurally, so this module needs no config import). */
export function kafkaSettingsOf(c: {
  kafkaBrokers: string[];
  kafkaClientId: string;
  kafkaSsl: boolean;
  kafkaSaslMechanism: KafkaSettings['saslMechanism'];
  kafkaSaslUsername: string;
  kafkaSaslPassword: string;
  bridgeKafkaClient?: SinkClientName;
}): KafkaSettings {
  return {
    sinkClient: c.bridgeKafkaClient ?? 'kafkajs',
    brokers: c.kafkaBrokers,
    clientId: c.kafkaClientId,
    ssl: c.kafkaSsl,
    saslMechanism: c.kafkaSaslMechanism,
    saslUsername: c.kafkaSaslUsername,
    saslPassword: c.kafkaSaslPassword,
  };
}

/**
 * A kafkajs client whose own log lines go to `logger` at levels that mean
 * something (src/log/kafka-log.ts): what kafkajs handles by retrying is a
 * rate-limited warn and, with `options.registry`, a
 * `pipeline_client_retries_total{client="kafkajs",code}` increment.
 */
export function createKafka(settings: KafkaSettings, logger: Logger, clientIdSuffix = '', options: { registry?: Registry } = {}): Kafka {
  const config: KafkaConfig = {
    brokers: settings.brokers,
    clientId: clientIdSuffix ? `${settings.clientId}-${clientIdSuffix}` : settings.clientId,
    ssl: settings.ssl,
    logLevel: logLevel.WARN,
    logCreator: kafkajsLogCreator(logger, options),
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 10_000 },
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
  };
  const sasl = saslOptions(settings);
  if (sasl) config.sasl = sasl;
  const kafka = new Kafka(config);
  if (settings.sinkClient !== 'confluent') return kafka;
  // Fails here, at start-up, when the client is not installed for this Node.
  loadConfluentClient();
  const sink: ConfluentSinkSelection = { settings, logger, ...(options.registry ? { registry: options.registry } : {}) };
  return Object.defineProperty(kafka, CONFLUENT_SINK, { value: sink, enumerable: false });
}

/**
 * What the bridge's sinks are built from when BRIDGE_KAFKA_CLIENT=confluent.
 * It rides on the Kafka object the bridge already receives
 * (createTransactionalSink looks for it), so selecting the client changes no
 * signature outside src/log/; once the bridge takes a sink factory as its
 * port, this becomes that factory.
 */
export interface ConfluentSinkSelection {
  settings: KafkaSettings;
  logger: Logger;
  registry?: Registry;
}

const CONFLUENT_SINK = Symbol('confluentSink');

/** The confluent sink selection carried by `kafka` (see {@link createKafka}), if any. */
export function confluentSinkOf(client: LogClient): ConfluentSinkSelection | undefined {
  const selection: unknown = client instanceof Kafka ? Reflect.get(client, CONFLUENT_SINK) : undefined;
  return isSinkSelection(selection) ? selection : undefined;
}

function isSinkSelection(x: unknown): x is ConfluentSinkSelection {
  return typeof x === 'object' && x !== null && 'settings' in x && 'logger' in x;
}

function saslOptions(s: KafkaSettings): SASLOptions | undefined {
  switch (s.saslMechanism) {
    case 'none':
      return undefined;
    case 'plain':
      return { mechanism: 'plain', username: s.saslUsername, password: s.saslPassword };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username: s.saslUsername, password: s.saslPassword };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username: s.saslUsername, password: s.saslPassword };
  }
}

/**
 * The kafkajs client behind a {@link LogClient}, for the modules of src/log/
 * that use more of it than the port (transactions, the internal cluster).
 * Throws for a client of another library.
 */
export function kafkajsOf(client: LogClient): Kafka {
  if (client instanceof Kafka) return client;
  throw new PipelineError('KAFKA_CLIENT_UNSUPPORTED', 'this part of the pipeline needs the kafkajs client (src/log/kafka.ts createKafka)');
}
