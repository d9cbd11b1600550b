import { describe, expect, it } from 'vitest';
import { createLogger, resolveLogFormat, statusLineOf } from '../../src/shared/logger.js';
import { MASK } from '../../src/shared/redact.js';

function capture(isTTY: boolean) {
  let text = '';
  return { out: { write: (s: string) => void (text += s), isTTY, columns: 60 }, text: () => text };
}

const SECRET = 'pw-S3CRET-4f1a9c';
const redaction = { paths: ['*.databaseUrl'], censor: () => MASK, secrets: [SECRET] };

describe('log format', () => {
  it('auto means text on a terminal and JSON elsewhere', () => {
    expect(resolveLogFormat('auto', { isTTY: true })).toBe('pretty');
    expect(resolveLogFormat('auto', { isTTY: false })).toBe('json');
    expect(resolveLogFormat('json', { isTTY: true })).toBe('json');
  });

  it('text output keeps secrets masked (formatted after the redaction hook) and is not JSON', () => {
    const c = capture(false);
    const logger = createLogger({ format: 'pretty', redaction, destination: c.out });
    logger.error({ err: `connect to postgres://u:${SECRET}@h/db failed`, cfg: { databaseUrl: `postgres://u:${SECRET}@h` } }, `boom ${SECRET}`);
    const out = c.text();
    expect(out).not.toContain(SECRET);
    expect(out).toContain(`boom ${MASK}`);
    expect(out).toContain('ERROR');
    expect(out.trimStart().startsWith('{')).toBe(false);
    expect(statusLineOf(logger)).toBeUndefined(); // not a terminal: no status line
  });

  it('JSON output stays JSON, masked', () => {
    const c = capture(true);
    const logger = createLogger({ format: 'json', redaction, destination: c.out });
    logger.warn(`x ${SECRET}`);
    const line = JSON.parse(c.text()) as { msg: string; level: number };
    expect(line).toMatchObject({ msg: `x ${MASK}`, level: 40 });
    expect(statusLineOf(logger)).toBeUndefined();
  });

  it('on a terminal the status line is erased before a log line and drawn again below it; info lines wait for it to go', () => {
    const c = capture(true);
    const logger = createLogger({ format: 'auto', destination: c.out });
    const status = statusLineOf(logger)!;
    expect(status).toBeDefined();
    status.set('applied 10/s');
    logger.info('routine'); // summed up by the status line while it shows
    logger.warn('careful');
    status.clear();
    logger.info('after');
    const out = c.text();
    expect(out.startsWith('applied 10/s')).toBe(true);
    const warn = out.indexOf('careful');
    expect(out.lastIndexOf('\r\x1b[2K', warn)).toBeGreaterThan(0);
    expect(out.indexOf('applied 10/s', warn)).toBeGreaterThan(warn);
    expect(out).not.toContain('routine');
    expect(out).toContain('after');
  });
});
