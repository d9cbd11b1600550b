import { describe, expect, it } from 'vitest';
import { chunkByBytes, messageBytes, type OutgoingMessage } from '../../src/log/relay-producer.js';

const msg = (i: number, size: number): OutgoingMessage => ({ topic: 't', key: `k${i}`, value: Buffer.alloc(size), headers: { h: 'v' } });

describe('produce requests of a large transaction', () => {
  it('cuts the messages into runs under the byte limit, in order, each message once', () => {
    const messages = Array.from({ length: 100 }, (_, i) => msg(i, 1000));
    const chunks = chunkByBytes(messages, 10_000);
    expect(chunks.flat()).toEqual(messages);
    for (const c of chunks) expect(c.reduce((n, m) => n + messageBytes(m), 0)).toBeLessThanOrEqual(10_000);
    expect(chunks.length).toBeGreaterThan(10);
  });

  it('a message above the limit goes alone; no messages is one empty run (the checkpoint still commits)', () => {
    expect(chunkByBytes([msg(1, 10), msg(2, 50_000), msg(3, 10)], 10_000).map((c) => c.length)).toEqual([1, 1, 1]);
    expect(chunkByBytes([], 10_000)).toEqual([[]]);
  });
});
