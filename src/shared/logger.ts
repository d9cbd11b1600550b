import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { createSecretScrubber, MASK, type LogRedaction } from './redact.js';

export type { Logger };
export type { LogRedaction };

/** Field names masked when no configuration is at hand (tests, library defaults). */
const DEFAULT_PATHS = ['password', '*.password', 'secretAccessKey', '*.secretAccessKey'];

/**
 * Structured JSON logs (one line per event). Secrets are kept out in one
 * place, from the configuration table (`logRedaction(config)`): fields that
 * hold a secret setting are censored by path, and every secret value is
 * masked wherever it occurs in the finished line — an error message quoting a
 * connection string, a stack, a child logger's bindings — so no call site has
 * to remember it.
 */
export function createLogger(
  options: { level?: string; name?: string; redaction?: LogRedaction; destination?: DestinationStream } = {},
): Logger {
  const { redaction } = options;
  const scrub = redaction ? createSecretScrubber(redaction.secrets, { json: true }) : undefined;
  const settings: LoggerOptions = {
    name: options.name ?? 'pipeline',
    level: options.level ?? 'info',
    base: { pid: process.pid },
    redact: {
      paths: [...DEFAULT_PATHS, ...(redaction?.paths ?? [])],
      censor: redaction ? redaction.censor : MASK,
    },
    ...(scrub ? { hooks: { streamWrite: scrub } } : {}),
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/** A logger that drops everything, for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
