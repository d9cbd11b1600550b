import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectViewsEqualReadModel, readJournal, waitForProjector } from '../helpers/assertions.js';
import { createPipelineEnv } from '../helpers/pipeline-env.js';
import { spawnCli, type CliProcess } from '../helpers/process.js';
import { eventually, type TestDatabase } from '../helpers/stack.js';

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** pino's JSON lines of a process's output (anything else it printed is left out). */
function logLines(output: string): LogLine[] {
  return output.split('\n').flatMap((l) => {
    if (!l.startsWith('{')) return [];
    try {
      const v = JSON.parse(l) as Partial<LogLine>;
      return typeof v.level === 'number' && typeof v.msg === 'string' ? [v as LogLine] : [];
    } catch {
      return [];
    }
  });
}

/**
 * ERROR means a person should look: every role in one process (what
 * `npm start` runs) on a healthy stack, under a short burst of load, with
 * LOG_LEVEL=info, prints no line at level error or fatal (pino ≥ 50) from
 * start to a clean stop — including kafkajs' own lines, whose retried
 * protocol errors (CONCURRENT_TRANSACTIONS on AddPartitionsToTxn and the
 * like) are warnings.
 */
describe('log levels on a healthy pipeline', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let api: string;
  let table: string;
  const procs: CliProcess[] = [];

  beforeAll(async () => {
    ({ db, env, api, table } = await createPipelineEnv('healthy', { LAG_POLL_INTERVAL_MS: '2000', LOG_LEVEL: 'info' }));
  });
  afterAll(async () => {
    for (const p of procs) await p.kill9().catch(() => undefined);
    await db?.drop();
  });

  it('run --roles bridge,projector,views,monitor,api under load prints no ERROR line', async () => {
    const pipeline = spawnCli(['run', '--roles', 'bridge,projector,views,monitor,api'], env);
    procs.push(pipeline);
    const tail = () => pipeline.output().slice(-4000);
    await eventually(async () => ((await fetch(`${api}/healthz`).catch(() => undefined))?.ok ? true : undefined), 90_000, 500).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${tail()}`);
    });

    // As fast as it goes: many short transactions in a row are what makes the broker answer CONCURRENT_TRANSACTIONS.
    const load = spawnCli(['load', '--profile', 'flat', '--rate', '0', '--count', '400', '--inventories', '40', '--seed', '14', '--prefix', 'HLOG'], {
      ...env,
      LOG_LEVEL: 'warn',
    });
    procs.push(load);
    expect(await load.exited, load.output()).toBe(0);

    const { marks } = await readJournal(table);
    await waitForProjector(db.pool, marks, 90_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${tail()}`);
    });
    await expectViewsEqualReadModel(db.pool, 60_000);
    const lag = await fetch(`${api}/lag`);
    expect(lag.status).toBe(200);

    expect(await pipeline.terminate(), tail()).toBe(0);
    expect(pipeline.exitedUnexpectedly()).toBe(false);

    const lines = logLines(pipeline.output());
    expect(lines.filter((l) => l.level === 30).length, 'LOG_LEVEL=info took effect').toBeGreaterThan(0);
    const errors = lines.filter((l) => l.level >= 50);
    expect(errors, JSON.stringify(errors.slice(0, 20), null, 1)).toEqual([]);
  });
});
