import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ZodError } from 'zod';
import { PipelineError, ValidationError, isRetriable } from '../shared/errors.js';
import type { AppEnv } from './env.js';
import { ApiError, invalidParameters, type ParameterLocation, type ParameterProblem } from './errors.js';
import { ownHeaders } from './request-context.js';

/** An RFC 9457 problem, before serialisation. */
export interface Problem {
  status: number;
  code: string;
  detail: string;
  problems: ParameterProblem[];
  headers: Record<string, string>;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * The one place an error becomes an HTTP answer. Client mistakes keep their
 * message (it names the parameter); anything unexpected becomes a 500 whose
 * body says only "internal error" and the request id — never a message or a
 * stack of the server's internals. Transient infrastructure errors (database
 * connection refused, serialization failure) are 503 with Retry-After.
 */
export function toProblem(err: unknown): Problem {
  if (err instanceof ApiError) {
    return { status: err.status, code: err.code, detail: err.message, problems: err.problems, headers: err.headers };
  }
  if (err instanceof HTTPException) {
    const status = err.status;
    const detail = status < 500 && err.message ? err.message : (TITLES[status] ?? 'error');
    return { status, code: `HTTP_${status}`, detail, problems: [], headers: {} };
  }
  if (err instanceof ValidationError) {
    return { status: 400, code: err.code, detail: err.message, problems: [], headers: {} };
  }
  if (isRetriable(err) || isOverloaded(err)) {
    return {
      status: 503,
      code: 'UNAVAILABLE',
      detail: 'a backing service is temporarily unavailable; retry shortly',
      problems: [],
      headers: { 'retry-after': '1' },
    };
  }
  const code = err instanceof PipelineError ? err.code : 'INTERNAL';
  return { status: 500, code, detail: 'internal error; quote the request id when reporting it', problems: [], headers: {} };
}

/**
 * The database is there but cannot answer in time: a statement cancelled by
 * statement_timeout (57014) or no pooled connection free within the pool's
 * connection timeout. Both pass with load, so they are 503s, not 500s.
 */
function isOverloaded(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as Error & { code?: unknown }).code;
  return code === '57014' || err.message === 'timeout exceeded when trying to connect';
}

export function problemResponse(c: Context<AppEnv>, p: Problem): Response {
  const requestId = c.get('requestId') ?? 'none';
  const body = {
    type: `urn:ddb-cdc-pipeline:problem:${p.code.toLowerCase().replaceAll('_', '-')}`,
    title: TITLES[p.status] ?? 'Error',
    status: p.status,
    detail: p.detail,
    instance: c.req.path,
    code: p.code,
    requestId,
    ...(p.problems.length > 0 ? { errors: p.problems } : {}),
  };
  return new Response(JSON.stringify(body), {
    status: p.status,
    headers: { ...ownHeaders(c), 'content-type': 'application/problem+json', 'cache-control': 'no-store', ...p.headers },
  });
}

const LOCATIONS: Record<string, ParameterLocation> = { param: 'path', query: 'query', header: 'header' };

/** zod issues of one validation target → a 400 naming every offending parameter. */
export function validationError(target: string, error: ZodError): ApiError {
  const where = LOCATIONS[target] ?? 'query';
  const problems: ParameterProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push({ in: where, name: key, message: 'unknown parameter' });
      continue;
    }
    const name = issue.path.length > 0 ? issue.path.map(String).join('.') : '(request)';
    let message = issue.message;
    if (issue.code === 'invalid_type') {
      if (message.includes('received undefined')) message = 'is required';
      else if (message.includes('received array')) message = 'must be given only once';
    }
    problems.push({ in: where, name, message });
  }
  return invalidParameters(problems);
}
