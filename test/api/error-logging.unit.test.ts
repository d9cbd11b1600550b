import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { PipelineError } from '../../src/shared/errors.js';

const THRESHOLDS = { upToDateMs: 1000, slightlyStaleMs: 5000 };

function capture() {
  const lines: { level: number; msg: string; code?: string; suppressed?: number }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as (typeof lines)[number]);
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, sink) };
}

describe('API error logging', () => {
  it('a dependency that is down answers 503 and logs one warning per code per 30 s, never an error', async () => {
    const { lines, logger } = capture();
    const down = { query: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })) };
    const app = createApp({ pool: down, logger, metrics: new Registry(), readiness: { checks: [] }, staleness: THRESHOLDS });
    for (let i = 0; i < 20; i++) expect((await app.request('/views/zone-utilisation')).status).toBe(503);
    await new Promise((r) => setImmediate(r));
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    const warns = lines.filter((l) => l.msg === 'request failed: dependency unavailable');
    expect(warns).toHaveLength(1);
    expect(warns[0]?.level).toBe(40);
  });

  it('a bug answers 500 and is logged at error every time', async () => {
    const { lines, logger } = capture();
    const broken = { query: () => Promise.reject(new PipelineError('BUG', 'relation "x" does not exist')) };
    const app = createApp({ pool: broken, logger, metrics: new Registry(), readiness: { checks: [] }, staleness: THRESHOLDS });
    for (let i = 0; i < 3; i++) expect((await app.request('/inventories/INV-000001')).status).toBe(500);
    await new Promise((r) => setImmediate(r));
    expect(lines.filter((l) => l.level === 50 && l.msg === 'request failed')).toHaveLength(3);
  });
});
