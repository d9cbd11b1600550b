import { PipelineError } from '../shared/errors.js';

/** Where a request parameter travels. */
export type ParameterLocation = 'path' | 'query' | 'header';

/** One thing wrong with a request: which parameter, and why. */
export interface ParameterProblem {
  in: ParameterLocation;
  name: string;
  message: string;
}

/**
 * An error that already knows its HTTP answer. Everything the API refuses on
 * purpose is one of these; the single error mapper (problem.ts) turns it into
 * an RFC 9457 problem body.
 */
export class ApiError extends PipelineError {
  readonly status: number;
  readonly problems: ParameterProblem[];
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { problems?: ParameterProblem[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(code, message, { retriable: status === 429 || status === 503, cause: options.cause });
    this.status = status;
    this.problems = options.problems ?? [];
    this.headers = options.headers ?? {};
  }
}

export function invalidParameters(problems: ParameterProblem[]): ApiError {
  const detail = problems.map((p) => `${p.in} parameter '${p.name}': ${p.message}`).join('; ');
  return new ApiError(400, 'INVALID_PARAMETER', detail, { problems });
}

export const invalidParameter = (where: ParameterLocation, name: string, message: string): ApiError =>
  invalidParameters([{ in: where, name, message }]);

export const notFound = (what: string): ApiError => new ApiError(404, 'NOT_FOUND', `${what} not found`);
