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

  it('throws any other error at once', async () => {
    let calls = 0;
    const call = () => {
      calls++;
      return Promise.reject(protocolError('TOPIC_AUTHORIZATION_FAILED'));
    };
    await expect(whilePropagating(call, 10_000)).rejects.toThrow('TOPIC_AUTHORIZATION_FAILED');
    expect(calls).toBe(1);
  });

  it('throws the propagation error once its time is up', async () => {
    let calls = 0;
    const call = () => {
      calls++;
      return Promise.reject(protocolError('UNKNOWN_TOPIC_OR_PARTITION'));
    };
    await expect(whilePropagating(call, 0)).rejects.toThrow('UNKNOWN_TOPIC_OR_PARTITION');
    expect(calls).toBe(1);
  });
});
