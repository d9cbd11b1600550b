import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { createSecretScrubber, MASK, type LogRedaction } from './redact.js';

export type { Logger };
export type { LogRedaction };

/** Field names masked when no configuration is at hand (tests, library defaults). */
const DEFAULT_PATHS = ['password', '*.password', 'secretAccessKey', '*.secretAccessKey'];

/** `auto`: readable text on a terminal, JSON lines otherwise (a file, a pipe, a log collector). */
export type LogFormat = 'auto' | 'json' | 'pretty';

/** The format `auto` means for an output stream. */
export const resolveLogFormat = (format: LogFormat, out: { isTTY?: boolean } = process.stdout): 'json' | 'pretty' =>
  format === 'auto' ? (out.isTTY ? 'pretty' : 'json') : format;

/** A line kept at the bottom of a terminal below the log lines (`demo`'s status). */
export interface StatusLine {
  set(text: string): void;
  clear(): void;
}

interface TextOut {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const STATUS_LINE = Symbol('statusLine');
const LEVEL = /"level":(\d+)/;
type TerminalDestination = DestinationStream & { [STATUS_LINE]?: StatusLine };

/**
 * pino's JSON lines printed as text (pino-pretty's formatter, called
 * synchronously so nothing is lost at exit). The line is formatted after
 * pino's `streamWrite` hook, i.e. after secrets were masked. On a terminal a
 * status line stays below the log lines: it is erased before each log line
 * and drawn again after it; while it shows, lines below warn are left out
 * (the status line is their summary).
 */
function prettyDestination(out: TextOut): TerminalDestination {
  const colorize = out.isTTY === true;
  const format = prettyFactory({ colorize, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' });
  let status = '';
  const erase = () => (status && out.isTTY ? '\r\x1b[2K' : '');
  const draw = () => (status && out.isTTY ? status.slice(0, Math.max(20, (out.columns ?? 120) - 1)) : '');
  const statusLine: StatusLine = {
    set(text) {
      const before = erase();
      status = text;
      out.write(before + draw());
    },
    clear() {
      out.write(erase());
      status = '';
    },
  };
  return {
    write(line: string) {
      // While the status line shows (it sums up the info), only warnings and errors are printed above it.
      if (status && out.isTTY && Number(LEVEL.exec(line)?.[1] ?? 60) < 40) return;
      out.write(erase() + format(line) + draw());
    },
    ...(out.isTTY ? { [STATUS_LINE]: statusLine } : {}),
  };
}

/** The status line of a logger that prints text to a terminal; undefined otherwise (JSON, or not a terminal). */
export function statusLineOf(logger: Logger): StatusLine | undefined {
  const dest: unknown = Reflect.get(logger, pino.symbols.streamSym);
  const line: unknown = dest && typeof dest === 'object' ? Reflect.get(dest, STATUS_LINE) : undefined;
  return line ? (line as StatusLine) : undefined;
}

/**
 * Structured logs: JSON lines, or the same records as readable text
 * (`format`, default JSON). Secrets are kept out in one
 * place, from the configuration table (`logRedaction(config)`): fields that
 * hold a secret setting are censored by path, and every secret value is
 * masked wherever it occurs in the finished line — an error message quoting a
 * connection string, a stack, a child logger's bindings — so no call site has
 * to remember it. Text is made from the masked line, so it is masked too.
 */
export function createLogger(
  options: { level?: string; name?: string; redaction?: LogRedaction; destination?: DestinationStream & TextOut; format?: LogFormat } = {},
): Logger {
  const { redaction } = options;
  const format = resolveLogFormat(options.format ?? 'json', options.destination ?? process.stdout);
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
  if (format === 'pretty') return pino(settings, prettyDestination(options.destination ?? process.stdout));
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/** A logger that drops everything, for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
