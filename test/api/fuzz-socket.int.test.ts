import fc from 'fast-check';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import { createApiFixture, type ApiFixture } from './api-fixture.js';

/** Sends raw bytes as one HTTP/1.1 request and returns the status code of the answer (0: connection closed without one). */
function rawRequest(port: number, requestTarget: Buffer, headers = ''): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('timeout')));
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, text });
    });
    socket.write(Buffer.concat([Buffer.from('GET '), requestTarget, Buffer.from(` HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`)]));
  });
}

describe('fuzzing over a real socket: raw request targets and headers never produce a 5xx', () => {
  let f: ApiFixture;
  let server: ApiServer;
  beforeAll(async () => {
    f = await createApiFixture('api_fuzz_sock');
    server = await startApiServer(f.app(), { port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await f?.close();
  });

  const prefixes = ['/inventories/', '/inventories?limit=', '/inventories/INV-000001/movements?from=', '/views/daily-movements?to=', '/alerts/low-stock?status=', '/views/zone-utilisation?warehouse='];
  // Bytes a client can put in a request target without breaking the request line (no space, CR, LF).
  const targetByte = fc.integer({ min: 0x21, max: 0xff }).filter((b) => b !== 0x7f);

  it('raw bytes (invalid UTF-8, stray %, non-ASCII) in paths and query strings', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...prefixes), fc.array(targetByte, { maxLength: 60 }), async (prefix, bytes) => {
        const { status, text } = await rawRequest(server.port, Buffer.concat([Buffer.from(prefix), Buffer.from(bytes)]));
        seen.set(status, (seen.get(status) ?? 0) + 1);
        // 0: Node's HTTP parser itself dropped a malformed request line; everything else must be a 2xx-4xx answer.
        expect(status === 0 || (status >= 200 && status < 500), `${prefix}${Buffer.from(bytes).toString('latin1')} → ${text.slice(0, 200)}`).toBe(true);
        expect(text).not.toMatch(/\bat .+:\d+:\d+\)?/);
      }),
      { numRuns: 300 },
    );
    expect(seen.get(400) ?? 0).toBeGreaterThan(50);
  });

  it('hostile request headers: request ids, conditional requests, authorization', async () => {
    const headerValue = fc.array(fc.integer({ min: 0x20, max: 0xff }).filter((b) => b !== 0x7f), { maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1'));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('x-request-id', 'if-none-match', 'authorization', 'origin', 'accept'), headerValue, async (name, value) => {
        const { status } = await rawRequest(server.port, Buffer.from('/inventories/INV-000001'), `${name}: ${value}\r\n`);
        expect(status === 0 || (status >= 200 && status < 500)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
