import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { Registry } from 'prom-client';
import { PipelineError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
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
}

/** The Kafka part of the pipeline's configuration (structurally, so this module needs no config import). */
export function kafkaSettingsOf(c: {
  kafkaBrokers: string[];
  kafkaClientId: string;
  kafkaSsl: boolean;
  kafkaSaslMechanism: KafkaSettings['saslMechanism'];
  kafkaSaslUsername: string;
  kafkaSaslPassword: string;
}): KafkaSettings {
  return {
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
  return new Kafka(config);
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
