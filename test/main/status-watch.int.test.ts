import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { serdeFor } from '../helpers/pipeline.js';
import { spawnCli, writeConnector, type CliProcess } from '../helpers/process.js';
import { createTestDatabase, eventually, uniqueName, type TestDatabase } from '../helpers/stack.js';

/**
 * `cli status --watch` as an operator leaves it running: it refreshes until
 * Ctrl-C, then exits with the last evaluation's code. Only the output's shape
 * is checked (the screen itself is status.int.test.ts's): refreshes follow
 * each other without terminal control codes when stdout is not a terminal,
 * `--json` prints one document per refresh.
 */
describe('cli status --watch', () => {
  const topic = uniqueName('watch.events');
  let db: TestDatabase;
  let env: Record<string, string>;
  const procs: CliProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('status_watch');
    await migrate(db.pool, 'migrations');
    await serdeFor(topic);
    env = {
      DATABASE_URL: db.url,
      CONNECTOR_FILE: writeConnector(uniqueName('watch-journal'), topic),
      GROUP_PREFIX: `${uniqueName('sw')}.`,
      PROMETHEUS_TARGETS_DIR: mkdtempSync(path.join(tmpdir(), 'targets-')),
      LOG_LEVEL: 'error',
    };
  });
  afterAll(async () => {
    for (const p of procs) await p.kill9().catch(() => undefined);
    await db?.drop();
  });

  const watch = async (args: string[], refreshes: (out: string) => number) => {
    const p = spawnCli(['status', '--watch', '1', ...args], env);
    procs.push(p);
    // Three refreshes at least (generous bound: collecting takes a while on a busy machine).
    await eventually(async () => (refreshes(p.output()) >= 3 ? true : undefined), 90_000, 250).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${p.output().slice(-3000)}`);
    });
    p.child.kill('SIGINT');
    const code = await Promise.race([p.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 30_000))]);
    return { code, out: p.output() };
  };

  it('refreshes the screen until Ctrl-C, without terminal control codes off a terminal, and exits with the evaluation', async () => {
    const { code, out } = await watch([], (o) => o.match(/pipeline status/g)?.length ?? 0);
    expect(out).not.toContain('\x1b[2J');
    expect(out).toContain('NEEDS ATTENTION'); // nothing runs in this test: every refresh says so
    expect(code, out.slice(-2000)).toBe(1);
  });

  it('--json prints one JSON evaluation per refresh', async () => {
    const { code, out } = await watch(['--json'], (o) => o.split(/\n(?=\{)/).filter((d) => d.trim().endsWith('}')).length);
    const docs = out.split(/\n(?=\{)/).map((d) => d.trim()).filter((d) => d.startsWith('{') && d.endsWith('}'));
    expect(docs.length).toBeGreaterThanOrEqual(3);
    for (const d of docs) expect((JSON.parse(d) as { problems: unknown[] }).problems.length).toBeGreaterThan(0);
    expect(code, out.slice(-2000)).toBe(1);
  });
});
