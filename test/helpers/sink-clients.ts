import { createRequire } from 'node:module';
import { CONFLUENT_PACKAGE } from '../../src/log/confluent-client.js';
import { createKafka, kafkaSettingsOf, type SinkClientName } from '../../src/log/kafka.js';
import { config, testLogger } from './stack.js';

/**
 * The bridge's sink clients a suite runs against (BRIDGE_KAFKA_CLIENT):
 * kafkajs always; confluent where `scripts/stack.sh install --kafka-client
 * confluent` built it (not in CI's fresh clone: the build takes minutes) or
 * where REQUIRE_CONFLUENT=1 demands it (its cases then fail without it). No
 * case is skipped: a client that is not there has no cases.
 */
export const SINK_CLIENTS: readonly SinkClientName[] = sinkClientAvailable('confluent') ? ['kafkajs', 'confluent'] : ['kafkajs'];

export function sinkClientAvailable(client: SinkClientName): boolean {
  if (client === 'kafkajs' || process.env.REQUIRE_CONFLUENT === '1') return true;
  try {
    createRequire(import.meta.url)(CONFLUENT_PACKAGE);
    return true;
  } catch {
    return false;
  }
}

/** A Kafka client whose transactional and at-least-once sinks run on `client`. */
export function kafkaWithSink(client: SinkClientName, suffix = 'test') {
  return createKafka({ ...kafkaSettingsOf(config), sinkClient: client }, testLogger, suffix);
}
