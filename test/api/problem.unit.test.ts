import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import { ApiError, invalidParameter } from '../../src/api/errors.js';
import { toProblem } from '../../src/api/problem.js';
import { PipelineError, ValidationError } from '../../src/shared/errors.js';

describe('error → HTTP problem (the one mapping)', () => {
  it('keeps the status, code, parameter and headers of ApiErrors', () => {
    expect(toProblem(invalidParameter('query', 'limit', 'must be an integer'))).toEqual({
      status: 400,
      code: 'INVALID_PARAMETER',
      detail: "query parameter 'limit': must be an integer",
      problems: [{ in: 'query', name: 'limit', message: 'must be an integer' }],
      headers: {},
    });
    expect(toProblem(new ApiError(429, 'RATE_LIMITED', 'slow down', { headers: { 'retry-after': '2' } }))).toMatchObject({
      status: 429,
      headers: { 'retry-after': '2' },
    });
  });

  it('maps HTTPException, ValidationError, transient errors and the unknown', () => {
    expect(toProblem(new HTTPException(413, { message: 'too big' }))).toMatchObject({ status: 413, detail: 'too big' });
    expect(toProblem(new ValidationError('bad input'))).toMatchObject({ status: 400, code: 'VALIDATION' });
    expect(toProblem(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toMatchObject({
      status: 503,
      headers: { 'retry-after': '1' },
    });
    expect(toProblem(Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' })).status).toBe(503);
    expect(toProblem(new Error('timeout exceeded when trying to connect')).status).toBe(503);
    const secret = new Error('relation "secret_table" does not exist at /srv/app/src/x.ts:12');
    const p = toProblem(secret);
    expect(p.status).toBe(500);
    expect(p.detail).not.toMatch(/secret_table|\.ts/);
    expect(toProblem(new PipelineError('BROKEN', 'internal details'))).toMatchObject({ status: 500, code: 'BROKEN' });
    expect(toProblem(new PipelineError('BROKEN', 'internal details')).detail).not.toMatch(/internal details/);
  });
});
