/**
 * The one error base of the pipeline. `code` is stable and machine-readable
 * (DLQ headers, HTTP problem bodies, metrics labels); `retriable` tells retry
 * loops whether trying again can help — a programmer error or invalid input
 * never is.
 */
export class PipelineError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** Input that can never be processed as it is (corrupt bytes, schema violation). */
export class ValidationError extends PipelineError {
  constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super(options.code ?? 'VALIDATION', message, { retriable: false, cause: options.cause });
  }
}

/** Optimistic-lock conflict on the journal: someone else appended first. */
export class ConcurrencyError extends PipelineError {
  constructor(
    readonly persistenceId: string,
    readonly expectedSequenceNr: number,
    options: { cause?: unknown } = {},
  ) {
    super(
      'CONCURRENCY',
      `concurrent append to ${persistenceId}: sequence_nr ${expectedSequenceNr} already exists`,
      { retriable: true, cause: options.cause },
    );
  }
}

/** A business invariant of an aggregate refused a command. */
export class DomainError extends PipelineError {
  constructor(code: string, message: string) {
    super(code, message, { retriable: false });
  }
}

export function isRetriable(err: unknown): boolean {
  if (err instanceof PipelineError) return err.retriable;
  // Errors of the clients we use (kafkajs, AWS SDK, pg) that are transient by nature.
  if (typeof err === 'object' && err !== null) {
    const e = err as { retriable?: unknown; $retryable?: unknown; code?: unknown; name?: unknown };
    if (e.retriable === true || e.$retryable !== undefined) return true;
    if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
    if (typeof e.name === 'string' && TRANSIENT_NAMES.has(e.name)) return true;
    // node-postgres reports a connection lost mid-query, a pool that could not connect in time and a
    // query the server did not answer within the client-side query_timeout, without a code.
    if (err instanceof Error && TRANSIENT_MESSAGES.some((m) => err.message.includes(m))) return true;
  }
  return false;
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ECONNABORTED',
  // PostgreSQL (never the data's fault): serialization failure, deadlock, lock not available (lock_timeout),
  // query canceled (statement_timeout), admin / crash shutdown, cannot connect now, too many connections,
  // connection exceptions.
  '40001',
  '40P01',
  '55P03',
  '57014',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08006',
]);
const TRANSIENT_MESSAGES = [
  'Connection terminated',
  'connection error and is not queryable',
  'timeout exceeded when trying to connect',
  'Client was closed and is not queryable',
  'Query read timeout',
];
const TRANSIENT_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'InternalServerError',
  'ServiceUnavailable',
  'KafkaJSConnectionError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
]);

export function errorCode(err: unknown): string {
  if (err instanceof PipelineError) return err.code;
  if (err instanceof Error) return err.name;
  return 'UNKNOWN';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
