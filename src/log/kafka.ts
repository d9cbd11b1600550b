import { Kafka, logLevel, type KafkaConfig, type SASLOptions, type logCreator } from 'kafkajs';
import type { Logger } from '../shared/logger.js';

/**
 * The only place the Kafka client library is constructed. Keeping kafkajs
 * behind this module (and log/relay-producer.ts, consumers/runner.ts) lets a
 * KafkaJS-compatible client replace it without touching the rest.
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

export function createKafka(settings: KafkaSettings, logger: Logger, clientIdSuffix = ''): Kafka {
  const config: KafkaConfig = {
    brokers: settings.brokers,
    clientId: clientIdSuffix ? `${settings.clientId}-${clientIdSuffix}` : settings.clientId,
    ssl: settings.ssl,
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(logger),
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

function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ level, log }) => {
      const { message, ...extra } = log;
      const child = { component: 'kafkajs', ...extra };
      if (level === logLevel.ERROR) logger.error(child, message);
      else if (level === logLevel.WARN) logger.warn(child, message);
      else if (level === logLevel.INFO) logger.info(child, message);
      else logger.debug(child, message);
    };
}
