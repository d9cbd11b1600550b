import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configMarkdown, loadConfig } from '../../src/config/config.js';
import { maskSecrets, redactConfig, secretValues } from '../../src/config/secrets.js';
import { groupTimings } from '../../src/consumers/runner.js';
import { packagePath, packageRoot } from '../../src/shared/package-root.js';

describe('configuration', () => {
  it('has defaults that point at the local stack', () => {
    const c = loadConfig({});
    expect(c.kafkaBrokers).toEqual(['127.0.0.1:9092']);
    expect(c.schemaRegistryUrl).toBe('http://127.0.0.1:8081/apis/ccompat/v7');
    expect(c.lagGroups).toBe('all');
    expect(c.corsOrigins).toEqual([]);
  });

  it('names every bad variable and what it expected, without echoing secrets', () => {
    try {
      loadConfig({ PG_POOL_MAX: 'many', KAFKA_SSL: 'maybe', DATABASE_URL: 'not a url with secret hunter2' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toMatch(/PG_POOL_MAX="many"/);
      expect(msg).toMatch(/KAFKA_SSL="maybe"/);
      expect(msg).toMatch(/DATABASE_URL=<redacted>/);
      expect(msg).not.toMatch(/hunter2/);
    }
  });

  it('parses LAG_GROUPS and CORS_ORIGINS with the list parser', () => {
    const c = loadConfig({ LAG_GROUPS: ' a.inventory-projector , b.inventory-views,', CORS_ORIGINS: 'https://a.example, https://b.example' });
    expect(c.lagGroups).toEqual(['a.inventory-projector', 'b.inventory-views']);
    expect(c.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(() => loadConfig({ LAG_GROUPS: ' , ' })).toThrow(/LAG_GROUPS/);
  });

  it('refuses TOPIC_PARTITIONS, which nothing reads, and says where partitions are set', () => {
    expect(() => loadConfig({ TOPIC_PARTITIONS: '12' })).toThrow(/TOPIC_PARTITIONS: no longer read: the connector file's "partitions"/);
    expect(configMarkdown()).not.toMatch(/TOPIC_PARTITIONS/);
  });
});

describe('TOPIC_REPLICATION_FACTOR', () => {
  it("defaults to unset (the brokers' default.replication.factor), takes 1-10, refuses the rest", () => {
    expect(loadConfig({}).topicReplicationFactor).toBeUndefined();
    expect(loadConfig({ TOPIC_REPLICATION_FACTOR: '' }).topicReplicationFactor).toBeUndefined();
    expect(loadConfig({ TOPIC_REPLICATION_FACTOR: '3' }).topicReplicationFactor).toBe(3);
    for (const bad of ['0', '11', 'three', '-1']) expect(() => loadConfig({ TOPIC_REPLICATION_FACTOR: bad })).toThrow(/TOPIC_REPLICATION_FACTOR/);
  });
});

describe('client-side bounds (issue 27)', () => {
  it('have documented defaults and refuse values out of range', () => {
    const c = loadConfig({});
    expect([c.pgConnectTimeoutMs, c.pgQueryTimeoutMs, c.apiRequestTimeoutMs, c.dynamodbRequestTimeoutMs, c.schemaRegistryTimeoutMs]).toEqual([5_000, 60_000, 5_000, 10_000, 10_000]);
    expect(() => loadConfig({ API_REQUEST_TIMEOUT_MS: '0' })).toThrow(/API_REQUEST_TIMEOUT_MS/);
    expect(() => loadConfig({ PG_QUERY_TIMEOUT_MS: '999' })).toThrow(/PG_QUERY_TIMEOUT_MS/);
    expect(() => loadConfig({ PG_CONNECT_TIMEOUT_MS: 'soon' })).toThrow(/PG_CONNECT_TIMEOUT_MS/);
  });
});

describe('consumer group timings (CONSUMER_SESSION_TIMEOUT_MS)', () => {
  it('defaults to 30 s and refuses what the brokers would refuse', () => {
    expect(loadConfig({}).consumerSessionTimeoutMs).toBe(30_000);
    expect(loadConfig({ CONSUMER_SESSION_TIMEOUT_MS: '10000' }).consumerSessionTimeoutMs).toBe(10_000);
    expect(() => loadConfig({ CONSUMER_SESSION_TIMEOUT_MS: '5000' })).toThrow(/CONSUMER_SESSION_TIMEOUT_MS/);
    expect(() => loadConfig({ CONSUMER_SESSION_TIMEOUT_MS: '300001' })).toThrow(/CONSUMER_SESSION_TIMEOUT_MS/);
  });

  it('heartbeats every third of the session timeout, at most every 3 s', () => {
    expect(groupTimings(6_000)).toEqual({ sessionTimeout: 6_000, heartbeatInterval: 2_000 });
    expect(groupTimings(10_000)).toEqual({ sessionTimeout: 10_000, heartbeatInterval: 3_000 });
    expect(groupTimings(30_000)).toEqual({ sessionTimeout: 30_000, heartbeatInterval: 3_000 });
    expect(() => groupTimings(1_000)).toThrow(/6000 to 300000/);
    expect(() => groupTimings(7_500.5)).toThrow(/integer/);
  });
});

describe('secret settings', () => {
  const key1 = 'k3y-ONE-abcdefghijklmnop';
  const key2 = 'k3y-TWO-qrstuvwxyz012345';
  const env = {
    API_KEYS: `ops:${key1}:10, ci:${key2}:5`,
    API_CURSOR_SECRET: 'cursor-secret-value',
    KAFKA_SASL_PASSWORD: 'sasl-secret-value',
    SCHEMA_REGISTRY_PASSWORD: 'registry-secret-value',
    AWS_SECRET_ACCESS_KEY: 'aws-secret-value',
    DATABASE_URL: 'postgres://writer:S3cr%40t-pw@db:5432/x?sslmode=require',
    API_DATABASE_URL: 'postgres://reader@db:5432/x?password=reader-secret-value',
    SCHEMA_REGISTRY_USERNAME: 'reg',
    DYNAMODB_ENDPOINT: 'https://ddb:dynamo-url-secret@dynamodb.example',
    PROMETHEUS_URL: 'http://prom:prom-url-secret@prometheus.example:9090',
  };
  const c = loadConfig(env);

  it('are masked by the config printer, keeping what is not secret (hosts, user and key names, rates)', () => {
    const r = redactConfig(c);
    expect(r.apiKeys).toBe('ops:***:10,ci:***:5');
    expect(r.apiCursorSecret).toBe('***');
    expect(r.kafkaSaslPassword).toBe('***');
    expect(r.schemaRegistryPassword).toBe('***');
    expect(r.awsSecretAccessKey).toBe('***');
    expect(r.databaseUrl).toBe('postgres://writer:***@db:5432/x?sslmode=require');
    expect(r.apiDatabaseUrl).toBe('postgres://reader@db:5432/x?password=***');
    expect(r.dynamodbEndpoint).toBe('https://ddb:***@dynamodb.example');
    expect(r.prometheusUrl).toBe('http://prom:***@prometheus.example:9090');
    const printed = JSON.stringify(r);
    for (const s of secretValues(c)) expect(printed).not.toContain(s);
    // Not secret: printed as they are.
    expect(r.kafkaBrokers).toEqual(['127.0.0.1:9092']);
    expect(r.awsAccessKeyId).toBe('local');
  });

  it('lists every secret value (a URL password raw and decoded) and leaves out the documented defaults', () => {
    expect(secretValues(c).sort()).toEqual(
      [
        key1,
        key2,
        'cursor-secret-value',
        'sasl-secret-value',
        'registry-secret-value',
        'aws-secret-value',
        'S3cr%40t-pw',
        'S3cr@t-pw',
        'reader-secret-value',
        'dynamo-url-secret',
        'prom-url-secret',
      ].sort(),
    );
    // The local stack's published passwords (postgres, pipeline_reader, local) are not secrets to hunt for in logs.
    expect(secretValues(loadConfig({}))).toEqual([]);
  });

  it('moves user:password of the registry URL to basic auth (fetch refuses such URLs and quotes them in its error)', () => {
    const r = loadConfig({ SCHEMA_REGISTRY_URL: 'https://reg:p%40ss-word@registry.example/apis/ccompat/v7' });
    expect([r.schemaRegistryUrl, r.schemaRegistryUsername, r.schemaRegistryPassword]).toEqual([
      'https://registry.example/apis/ccompat/v7',
      'reg',
      'p@ss-word',
    ]);
    expect(secretValues(r)).toContain('p@ss-word');
    const explicit = loadConfig({ SCHEMA_REGISTRY_URL: 'http://a:b-secret@127.0.0.1:8081', SCHEMA_REGISTRY_USERNAME: 'u', SCHEMA_REGISTRY_PASSWORD: 'explicit' });
    expect([explicit.schemaRegistryUrl, explicit.schemaRegistryUsername, explicit.schemaRegistryPassword]).toEqual(['http://127.0.0.1:8081', 'u', 'explicit']);
  });

  it('masks the secrets of raw variables in text the CLI prints outside the logger, even when the config does not load', () => {
    const raw = { ...env, PG_POOL_MAX: 'many' };
    expect(() => loadConfig(raw)).toThrow(ConfigError);
    const text = `error: registry failed for https://reg:registry-secret-value@x and ${key1}; db S3cr@t-pw`;
    expect(maskSecrets(text, raw)).toBe('error: registry failed for https://reg:***@x and ***; db ***');
    expect(maskSecrets('postgres://postgres:postgres@127.0.0.1:5432/pipeline', {})).toBe('postgres://postgres:postgres@127.0.0.1:5432/pipeline');
  });

  it('an API key spec is not mistaken for a URL (ops:<key>:10 parses as scheme "ops:")', () => {
    expect(redactConfig(loadConfig({ API_KEYS: `ops:${key1}:10` })).apiKeys).toBe('ops:***:10');
  });

  it('the configuration table (docs/configuration.md) marks every secret setting', () => {
    const md = configMarkdown();
    const row = (name: string) => md.split('\n').find((l) => l.startsWith(`| \`${name}\``));
    expect(md.split('\n')[0]).toBe('| variable | default | secret | meaning |');
    for (const name of ['KAFKA_SASL_PASSWORD', 'SCHEMA_REGISTRY_PASSWORD', 'AWS_SECRET_ACCESS_KEY', 'API_CURSOR_SECRET']) {
      expect(row(name)).toMatch(/\| yes \|/);
    }
    for (const name of ['DATABASE_URL', 'API_DATABASE_URL', 'SCHEMA_REGISTRY_URL', 'PROMETHEUS_URL', 'DYNAMODB_ENDPOINT']) {
      expect(row(name)).toMatch(/\| password in the URL \|/);
    }
    expect(row('API_KEYS')).toMatch(/\| the keys \|/);
    expect(row('KAFKA_SASL_USERNAME')).toMatch(/^\| `KAFKA_SASL_USERNAME` \| `` \| {2}\|/);
  });

  it('finds the files it ships from the package root, not the working directory; a path an operator sets stays as given', () => {
    expect(packageRoot).toBe(`${path.resolve(import.meta.dirname, '../..')}${path.sep}`);
    const c = loadConfig({});
    expect(c.connectorFile).toBe(packagePath('connectors/journal.json'));
    expect(existsSync(c.connectorFile)).toBe(true);
    expect(loadConfig({ CONNECTOR_FILE: 'my/connector.json' }).connectorFile).toBe('my/connector.json');
    const targets = packagePath('.stack/prometheus/targets');
    expect(c.prometheusTargetsDir).toBe(existsSync(targets) ? targets : '');
    expect(loadConfig({ PROMETHEUS_TARGETS_DIR: 'elsewhere' }).prometheusTargetsDir).toBe('elsewhere');
    expect(loadConfig({ PROMETHEUS_TARGETS_DIR: '' }).prometheusTargetsDir).toBe('');
  });
});
