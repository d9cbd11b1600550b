import { PipelineError } from '../shared/errors.js';

export interface RegistrySettings {
  url: string;
  username: string;
  password: string;
  /** Bound on one request (SCHEMA_REGISTRY_TIMEOUT_MS); default 10 s. */
  timeoutMs?: number;
}

export class RegistryError extends PipelineError {
  readonly status: number | undefined;

  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    // 5xx, timeouts and network failures are worth retrying; 4xx are answers.
    super('REGISTRY', message, { retriable: options.status === undefined || options.status >= 500, cause: options.cause });
    this.status = options.status;
  }
}

/** One call of the Confluent schema registry API: the parsed JSON body, or a {@link RegistryError}. */
export type RegistryCall = <T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) => Promise<T>;

/**
 * The registry's HTTP client. The same code talks to Apicurio's Confluent API
 * (local stack) and to Redpanda's or Confluent's registry (docker-compose,
 * production): only the base URL differs.
 *
 * Every request is bounded by `timeoutMs`; a timeout, a refused or reset
 * connection and a 5xx are retriable RegistryErrors without (or with a 5xx)
 * status, a 4xx is an answer. (@kafkajs/confluent-schema-registry's HTTP
 * layer reports a refused connection or a timeout as HTTP 400, which made a
 * registry outage look like a refusal: its calls are made here instead.)
 */
export function createRegistryCall(settings: RegistrySettings): RegistryCall {
  const base = settings.url.replace(/\/+$/, '');
  const timeoutMs = settings.timeoutMs ?? 10_000;
  const headers: Record<string, string> = {
    'content-type': 'application/vnd.schemaregistry.v1+json',
    accept: 'application/vnd.schemaregistry.v1+json, application/json',
  };
  if (settings.username) {
    headers.authorization = `Basic ${Buffer.from(`${settings.username}:${settings.password}`).toString('base64')}`;
  }
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let res: Response;
    let text: string;
    try {
      // The signal bounds the body as well as the headers: a registry that stalls mid-answer times out too.
      const signal = AbortSignal.timeout(timeoutMs);
      res = await fetch(`${base}${path}`, { method, headers, signal, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      text = await res.text();
    } catch (err) {
      const why = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : describe(err);
      throw new RegistryError(`registry ${method} ${path} failed: ${why}`, { cause: err });
    }
    if (!res.ok) throw new RegistryError(`registry ${method} ${path} answered ${res.status}: ${text}`, { status: res.status });
    return (text ? JSON.parse(text) : undefined) as T;
  };
}

/** fetch says only "fetch failed"; the reason (ECONNREFUSED, ...) is in its cause. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}
