import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineEnv } from '../helpers/pipeline-env.js';
import { spawnCli, type CliProcess } from '../helpers/process.js';
import { eventually, type TestDatabase } from '../helpers/stack.js';

/**
 * `npm start` is `scripts/stack.sh up` (which must not run against the shared
 * stack of a test run) followed by `cli demo`: this runs that `demo` as a
 * process against the test's own database, table, topic and port — setup,
 * every role, the business-day and then the peak workload — lets data reach
 * the API, and stops it with Ctrl-C (SIGINT): it must exit 0 within
 * SHUTDOWN_TIMEOUT_MS, print its workload summary and log nothing at ERROR.
 */
describe('demo (what npm start runs after the stack is up)', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let api: string;
  const procs: CliProcess[] = [];

  beforeAll(async () => {
    ({ db, env, api } = await createPipelineEnv('demo', { SHUTDOWN_TIMEOUT_MS: '20000', LOG_LEVEL: 'warn' }));
  });
  afterAll(async () => {
    for (const p of procs) await p.kill9().catch(() => undefined);
    await db?.drop();
  });

  for (const profile of ['business-day', 'peak'] as const) {
    it(`runs the ${profile} workload until Ctrl-C, serves data meanwhile, and stops cleanly`, async () => {
      const demo = spawnCli(['demo', '--profile', profile, '--inventories', '30', '--seed', profile === 'peak' ? '2' : '1', '--prefix', `D${profile.length}`], env);
      procs.push(demo);
      await eventually(async () => (demo.output().includes('pipeline running:') ? true : undefined), 120_000, 250).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${demo.output().slice(-3000)}`);
      });
      expect(demo.output()).toMatch(/setup: \d+ migrations, master data .*, topic \S+/);
      expect(demo.output()).toContain(`curl -s '${api}/inventories?limit=3'`);
      // Data reaches the API (the demo's promise: "data appears within seconds"; generous bound).
      await eventually(async () => {
        const res = await fetch(`${api}/inventories?limit=3`).catch(() => undefined);
        const body = res?.ok ? ((await res.json()) as { data: unknown[] }) : undefined;
        return body && body.data.length > 0 ? true : undefined;
      }, 120_000, 500).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${demo.output().slice(-3000)}`);
      });

      const stopAt = Date.now();
      demo.child.kill('SIGINT');
      const code = await Promise.race([demo.exited, new Promise<'overran'>((r) => setTimeout(() => r('overran'), 20_000 + 10_000))]);
      expect(code, `demo did not stop within SHUTDOWN_TIMEOUT_MS of Ctrl-C (${Date.now() - stopAt} ms):\n${demo.output().slice(-3000)}`).toBe(0);
      expect(demo.output()).toMatch(/workload: \d+ events at [\d.]+\/s, \d+ conflicts retried/);
      expect(demo.output()).not.toContain('shutdown grace period expired');
      expect(demo.output().split('\n').filter((l) => /\bERROR\b|"level":50/.test(l))).toEqual([]);
      // Nothing of the demo is left listening.
      expect(await fetch(`${api}/healthz`).then(() => 'answered').catch(() => 'gone')).toBe('gone');
    });
  }
});
