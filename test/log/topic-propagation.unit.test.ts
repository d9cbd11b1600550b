import { describe, expect, it } from 'vitest';
import { whilePropagating } from '../../src/log/topics.js';

/** A kafkajs protocol error as the client throws it: what matters is its `type`. */
const protocolError = (type: string) => Object.assign(new Error(type), { type });

describe('whilePropagating (a topic known to exist, asked of a broker whose metadata cache lags)', () => {
  it('asks again while the broker answers UNKNOWN_TOPIC_OR_PARTITION or LEADER_NOT_AVAILABLE, then returns the answer', async () => {
    const answers = [protocolError('UNKNOWN_TOPIC_OR_PARTITION'), protocolError('LEADER_NOT_AVAILABLE'), 'metadata'];
    let calls = 0;
    const result = await whilePropagating(async () => {
      const a = answers[calls++]!;
      if (a instanceof Error) throw a;
      return a;
    }, 10_000);
    expect(result).toBe('metadata');
    expect(calls).toBe(3);
  });

  /** A call that always fails with a protocol error of `type`, counting its calls. */
  const failing = (type: string) => {
    const c = { calls: 0, call: () => (c.calls++, Promise.reject(protocolError(type))) };
    return c;
  };

  it('throws any other error at once', async () => {
    const f = failing('TOPIC_AUTHORIZATION_FAILED');
    await expect(whilePropagating(f.call, 10_000)).rejects.toThrow('TOPIC_AUTHORIZATION_FAILED');
    expect(f.calls).toBe(1);
  });

  it('throws the propagation error once its time is up', async () => {
    const f = failing('UNKNOWN_TOPIC_OR_PARTITION');
    await expect(whilePropagating(f.call, 0)).rejects.toThrow('UNKNOWN_TOPIC_OR_PARTITION');
    expect(f.calls).toBe(1);
  });
});
