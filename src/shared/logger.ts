import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs (one line per event). Secrets are redacted by path as a
 * second line of defence; the first is never putting them in log fields.
 */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'pipeline',
    level: options.level ?? 'info',
    base: { pid: process.pid },
    redact: {
      paths: ['password', '*.password', '*.saslPassword', '*.secretAccessKey', '*.databaseUrl', '*.apiDatabaseUrl'],
      censor: '***',
    },
  });
}

/** A logger that drops everything, for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
