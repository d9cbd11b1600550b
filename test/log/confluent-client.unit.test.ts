import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { CONFLUENT_PACKAGE, KafkaClientMissingError, confluentErrorType } from '../../src/log/confluent-client.js';
import { confluentSinkOf, createKafka, type KafkaSettings } from '../../src/log/kafka.js';
import { silentLogger } from '../../src/shared/logger.js';

const settings: KafkaSettings = {
  brokers: ['127.0.0.1:1'],
  clientId: 'unit',
  ssl: false,
  saslMechanism: 'none',
  saslUsername: '',
  saslPassword: '',
};

const installed = (() => {
  try {
    createRequire(import.meta.url)(CONFLUENT_PACKAGE);
    return true;
  } catch {
    return false;
  }
})();

describe('BRIDGE_KAFKA_CLIENT selection', () => {
  it('kafkajs (the default) carries no confluent sink', () => {
    expect(confluentSinkOf(createKafka(settings, silentLogger()))).toBeUndefined();
    expect(confluentSinkOf(createKafka({ ...settings, sinkClient: 'kafkajs' }, silentLogger()))).toBeUndefined();
  });

  it(`confluent: ${installed ? 'the Kafka client carries the sink settings' : 'refuses at construction, naming the install command'}`, () => {
    const make = () => createKafka({ ...settings, sinkClient: 'confluent' }, silentLogger());
    if (installed) {
      expect(confluentSinkOf(make())?.settings.brokers).toEqual(settings.brokers);
    } else {
      expect(make).toThrow(KafkaClientMissingError);
      expect(make).toThrow(/scripts\/stack\.sh install --kafka-client confluent/);
    }
  });
});

describe('confluentErrorType', () => {
  it("names librdkafka's code and tells fencing apart", () => {
    expect(confluentErrorType({ code: -144, type: 'ERR__FENCED' })).toEqual({ type: 'FENCED', fenced: true });
    expect(confluentErrorType({ code: 90, type: 'ERR_PRODUCER_FENCED' })).toEqual({ type: 'PRODUCER_FENCED', fenced: true });
    expect(confluentErrorType({ code: 47, type: 'ERR_INVALID_PRODUCER_EPOCH' })).toEqual({ type: 'INVALID_PRODUCER_EPOCH', fenced: true });
    expect(confluentErrorType({ code: -152, type: 'ERR__PURGE_QUEUE' })).toEqual({ type: 'PURGE_QUEUE', fenced: false });
    expect(confluentErrorType({ code: -185, type: -1 })).toEqual({ type: 'CODE_-185', fenced: false });
  });

  it('looks through causes, and falls back to the error name', () => {
    expect(confluentErrorType(new Error('outer', { cause: { code: 90, type: 'ERR_PRODUCER_FENCED' } })).fenced).toBe(true);
    expect(confluentErrorType(new TypeError('x'))).toEqual({ type: 'TypeError', fenced: false });
  });
});
