import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactConfig } from '../../src/config/config.js';

describe('configuration', () => {
  it('has defaults that point at the local stack', () => {
    const c = loadConfig({});
    expect(c.kafkaBrokers).toEqual(['127.0.0.1:9092']);
    expect(c.schemaRegistryUrl).toBe('http://127.0.0.1:8081/apis/ccompat/v7');
    expect(c.topicPartitions).toBe(6);
  });

  it('names every bad variable and what it expected, without echoing secrets', () => {
    try {
      loadConfig({ TOPIC_PARTITIONS: 'many', KAFKA_SSL: 'maybe', DATABASE_URL: 'not a url with secret hunter2' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toMatch(/TOPIC_PARTITIONS="many"/);
      expect(msg).toMatch(/KAFKA_SSL="maybe"/);
      expect(msg).toMatch(/DATABASE_URL=<redacted>/);
      expect(msg).not.toMatch(/hunter2/);
    }
  });

  it('redacts passwords in URLs for the start-up log', () => {
    const r = redactConfig(loadConfig({ DATABASE_URL: 'postgres://u:s3cret@db:5432/x' }));
    expect(JSON.stringify(r)).not.toMatch(/s3cret/);
    expect(r.databaseUrl).toBe('postgres://u:***@db:5432/x');
  });
});
