import { describe, expect, it } from 'vitest';
import { decideRecovery, failureKindOf, type RecoveryPolicy } from '../../src/consumers/recovery.js';
import { PipelineError, ValidationError } from '../../src/shared/errors.js';

const policies: RecoveryPolicy[] = [
  { kind: 'fail' },
  { kind: 'skip' },
  { kind: 'retryAndFail', attempts: 3, delayMs: 100 },
  { kind: 'retryAndDeadLetter', attempts: 3, delayMs: 100 },
];

describe('recovery decision', () => {
  it('retries infrastructure errors under every policy, however many there were', () => {
    for (const p of policies) {
      for (const n of [1, 3, 50, 1000]) {
        const d = decideRecovery(p, 'infrastructure', { infrastructure: n, data: 0 });
        expect(d.action).toBe('retry');
        if (d.action === 'retry') expect(d.delayMs).toBeLessThanOrEqual(10_000);
      }
    }
  });

  it('infrastructure failures do not count toward the data attempts', () => {
    const p = policies[3]!;
    expect(decideRecovery(p, 'data', { infrastructure: 40, data: 1 })).toEqual({ action: 'retry', delayMs: 100 });
  });

  it('reads each policy for data errors', () => {
    expect(decideRecovery(policies[0]!, 'data', { infrastructure: 0, data: 1 })).toEqual({ action: 'fail' });
    expect(decideRecovery(policies[1]!, 'data', { infrastructure: 0, data: 1 })).toEqual({ action: 'skip' });
    expect(decideRecovery(policies[2]!, 'data', { infrastructure: 0, data: 2 })).toEqual({ action: 'retry', delayMs: 200 });
    expect(decideRecovery(policies[2]!, 'data', { infrastructure: 0, data: 3 })).toEqual({ action: 'fail' });
    expect(decideRecovery(policies[3]!, 'data', { infrastructure: 0, data: 3 })).toEqual({ action: 'isolate' });
    // A data error outside the per-event savepoints while isolating cannot be blamed on an event.
    expect(decideRecovery(policies[3]!, 'data', { infrastructure: 0, data: 4 }, true)).toEqual({ action: 'fail' });
  });

  it('classifies PostgreSQL and client failures as infrastructure, invalid data and programming errors as data', () => {
    const pg = (code: string) => Object.assign(new Error(code), { code });
    for (const code of ['40001', '40P01', '55P03', '57014', '57P01', '53300', '08006', 'ECONNREFUSED']) expect(failureKindOf(pg(code))).toBe('infrastructure');
    expect(failureKindOf(new Error('Connection terminated unexpectedly'))).toBe('infrastructure');
    expect(failureKindOf(new PipelineError('JOURNAL_THROTTLED', 'slow down', { retriable: true }))).toBe('infrastructure');
    expect(failureKindOf(new ValidationError('bad event'))).toBe('data');
    expect(failureKindOf(pg('23505'))).toBe('data');
    expect(failureKindOf(new TypeError('x is undefined'))).toBe('data');
  });
});
