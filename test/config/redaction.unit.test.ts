import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { logRedaction, redactConfig } from '../../src/config/secrets.js';
import { createLogger, type Logger } from '../../src/shared/logger.js';
import { createSecretScrubber, maskUrl, urlSecrets } from '../../src/shared/redact.js';

describe('secret scrubber', () => {
  it('masks every occurrence, raw, JSON-escaped and percent-encoded, longest first', () => {
    const scrub = createSecretScrubber(['pa"ss/word', 'abcd', 'abcdefgh'])!;
    expect(scrub('x abcdefgh y abcd z')).toBe('x *** y *** z');
    expect(scrub('url pa%22ss%2Fword and "pa\\"ss/word" and pa"ss/word')).toBe('url *** and "***" and ***');
  });

  it('in JSON mode touches only string literals, so the line stays valid JSON', () => {
    const scrub = createSecretScrubber(['1234'], { json: true })!;
    const line = JSON.stringify({ time: 1712341234, msg: 'pin 1234 refused' });
    const out = scrub(line);
    expect(JSON.parse(out)).toEqual({ time: 1712341234, msg: 'pin *** refused' });
    expect(scrub('{"msg":"nothing here"}')).toBe('{"msg":"nothing here"}');
  });

  it('ignores values too short to search for and returns undefined when nothing is left', () => {
    expect(createSecretScrubber(['', 'abc'])).toBeUndefined();
  });

  it('finds a URL password raw and decoded, and credential query parameters', () => {
    expect(urlSecrets('postgres://u:p%40ss@h/db?password=qq&sslmode=require')).toEqual(['p%40ss', 'p@ss', 'qq']);
    expect(urlSecrets('http://127.0.0.1:9090')).toEqual([]);
    expect(urlSecrets('ops:some-key:10')).toEqual([]);
    expect(maskUrl('postgres://u:p%40ss@h/db?password=qq&sslmode=require')).toBe('postgres://u:***@h/db?password=***&sslmode=require');
    expect(maskUrl('')).toBe('');
    expect(maskUrl('postgres://u:p@ss@h:5432/db')).toBe('postgres://u:***@h:5432/db');
    expect(urlSecrets('postgres://u:p@ss@h:5432/db')).toContain('p@ss');
  });
});

describe('logger redaction from the configuration table', () => {
  const apiKey = 'log-test-api-key-0123456789';
  const dbPassword = 'log-test-db-password';
  const c = loadConfig({
    API_KEYS: `ops:${apiKey}:10`,
    DATABASE_URL: `postgres://writer:${dbPassword}@127.0.0.1:1/db`,
    KAFKA_SASL_PASSWORD: 'log-test-sasl',
  });

  function logLines(fn: (log: Logger) => void): string[] {
    const lines: string[] = [];
    const destination = { write: (s: string) => void lines.push(s.trimEnd()) };
    fn(createLogger({ level: 'trace', redaction: logRedaction(c), destination }));
    return lines;
  }

  it('censors secret fields by path, keeping a URL host readable', () => {
    const [line] = logLines((log) => log.debug({ config: c }, 'configuration'));
    const rec = JSON.parse(line!) as { config: Record<string, unknown> };
    expect(rec.config.apiKeys).toBe('ops:***:10');
    expect(rec.config.databaseUrl).toBe('postgres://writer:***@127.0.0.1:1/db');
    expect(rec.config.kafkaSaslPassword).toBe('***');
    expect(rec.config).toEqual({ ...redactConfig(c) });
  });

  it('masks secret values inside error messages, stacks, messages and child bindings', () => {
    const err = new Error(`connect ECONNREFUSED: ${c.databaseUrl}`);
    const lines = logLines((log) => {
      log.error({ err }, 'pool failed');
      log.warn({ err: String(err), attempt: 1 }, 'start failed, retrying');
      log.child({ url: c.databaseUrl }).info(`using key ${apiKey}`);
      log.trace({ header: `Bearer ${apiKey}` }, 'request');
    });
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      expect(line).not.toContain(apiKey);
      expect(line).not.toContain(dbPassword);
      expect(() => JSON.parse(line)).not.toThrow();
    }
    expect(lines[0]).toContain('postgres://writer:***@127.0.0.1:1/db');
    expect(lines[2]).toContain('using key ***');
  });
});
