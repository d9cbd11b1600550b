/**
 * What a consumer does with a batch whose handler keeps failing
 * (Akka Projections' HandlerRecoveryStrategy):
 * - fail: stop the consumer (the group rebalances; an operator looks);
 * - skip: drop the failing events (counted) and move on;
 * - retryAndFail: retry n times with backoff, then fail;
 * - retryAndDeadLetter: retry n times, then isolate the failing events one by
 *   one and send each to the group's DLQ; the rest of the batch applies.
 * Decode errors never retry: the same bytes fail the same way.
 */
export type RecoveryPolicy =
  | { kind: 'fail' }
  | { kind: 'skip' }
  | { kind: 'retryAndFail'; attempts: number; delayMs: number }
  | { kind: 'retryAndDeadLetter'; attempts: number; delayMs: number };

export const retryAndDeadLetter = (attempts = 3, delayMs = 200): RecoveryPolicy => ({
  kind: 'retryAndDeadLetter',
  attempts,
  delayMs,
});

export function attemptsOf(policy: RecoveryPolicy): number {
  return policy.kind === 'retryAndFail' || policy.kind === 'retryAndDeadLetter' ? Math.max(1, policy.attempts) : 1;
}
