import { isRetriable } from '../shared/errors.js';
import { backoffDelay } from '../shared/retry.js';

/**
 * What a consumer does with a batch whose handler keeps failing because of
 * the data (Akka Projections' HandlerRecoveryStrategy):
 * - fail: stop the group's consumer in this process (state `failed`, ERROR
 *   logged, readiness fails) until an operator looks; nothing is applied;
 * - skip: commit the batch's offsets without its events (counted as skipped);
 * - retryAndFail: retry n times with a fixed delay growing per attempt, then fail;
 * - retryAndDeadLetter: retry n times, then isolate the failing events one by
 *   one and send each to the group's DLQ; the rest of the batch applies.
 *
 * Infrastructure errors (PostgreSQL restarting, a deadlock, a lock or
 * statement timeout, a registry or journal that does not answer) are never
 * the data's fault: whatever the policy, they are retried with jittered
 * backoff for as long as they last, and they never count toward the data
 * attempts — so they can never reach a DLQ, be skipped or fail the group.
 * Decode errors never retry at all: the same bytes fail the same way.
 */
export type RecoveryPolicy =
  | { kind: 'fail' }
  | { kind: 'skip' }
  | { kind: 'retryAndFail'; attempts: number; delayMs: number }
  | { kind: 'retryAndDeadLetter'; attempts: number; delayMs: number };

export const retryAndDeadLetter = (attempts = 3, delayMs = 200): RecoveryPolicy => ({ kind: 'retryAndDeadLetter', attempts, delayMs });

/** Failed attempts of one batch so far, counted apart by cause. */
export interface FailureCounts {
  infrastructure: number;
  data: number;
}

export type FailureKind = keyof FailureCounts;

export type RecoveryAction =
  | { action: 'retry'; delayMs: number }
  | { action: 'isolate' }
  | { action: 'skip' }
  | { action: 'fail' };

export const failureKindOf = (err: unknown): FailureKind => (isRetriable(err) ? 'infrastructure' : 'data');

/** Backoff of infrastructure retries: 200 ms doubling to 10 s, full jitter. */
const INFRA_INITIAL_MS = 200;
const INFRA_MAX_MS = 10_000;

/**
 * The one place the policy is read. `counts` already includes the failure
 * being decided; `isolating` says it happened while isolating events (where a
 * data error can no longer be blamed on one event: the group fails).
 */
export function decideRecovery(policy: RecoveryPolicy, kind: FailureKind, counts: FailureCounts, isolating = false): RecoveryAction {
  if (kind === 'infrastructure') {
    return { action: 'retry', delayMs: backoffDelay(Math.min(counts.infrastructure - 1, 6), INFRA_INITIAL_MS, INFRA_MAX_MS) };
  }
  switch (policy.kind) {
    case 'fail':
      return { action: 'fail' };
    case 'skip':
      return { action: 'skip' };
    case 'retryAndFail':
      return counts.data < Math.max(1, policy.attempts) ? { action: 'retry', delayMs: policy.delayMs * counts.data } : { action: 'fail' };
    case 'retryAndDeadLetter':
      if (isolating) return { action: 'fail' };
      return counts.data < Math.max(1, policy.attempts) ? { action: 'retry', delayMs: policy.delayMs * counts.data } : { action: 'isolate' };
  }
}
