import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineEnv } from '../helpers/pipeline-env.js';
import { spawnCli, type CliProcess } from '../helpers/process.js';
import { eventually, type TestDatabase } from '../helpers/stack.js';

interface Freshness {
  consistencyStatus: string;
  lagSeconds: number | null;
  lagBasis: string;
}

/**
 * Freshness that sees every stage (issue 23): each role in its own process,
 * a light load, then one stage stopped at a time — the bridge frozen, the
 * projector frozen, the views aggregator frozen, the bridge killed. The
 * consumer groups stay "caught up" with a topic that no longer grows while
 * the bridge is down; the end-to-end canary is what the API answers by. Each
 * case measures how long after the stop the answers said SLIGHTLY_STALE and
 * STALE, and that they return to UP_TO_DATE once the stage runs again; an
 * idle healthy pipeline stays UP_TO_DATE.
 */
describe('freshness when a stage stops (real roles, separate processes)', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let api: string;
  const roles = new Map<string, CliProcess>();
  const all: CliProcess[] = [];
  const start = (role: string) => {
    const p = spawnCli(['run', '--roles', role], env);
    roles.set(role, p);
    all.push(p);
    return p;
  };

  beforeAll(async () => {
    ({ db, env, api } = await createPipelineEnv('fresh', { CANARY_INTERVAL_MS: '1000' }));
  });
  afterAll(async () => {
    for (const p of all) await p.kill9().catch(() => undefined);
    await db?.drop();
  });

  const freshnessOf = async (path: string): Promise<Freshness> => ((await (await fetch(`${api}${path}`)).json()) as { freshness: Freshness }).freshness;
  const inventory = () => freshnessOf('/inventories?limit=1');
  const zoneView = () => freshnessOf('/views/stock-by-warehouse-zone');

  /** Polls every 250 ms until `status` is seen; returns ms since `since`. */
  async function secondsUntil(read: () => Promise<{ consistencyStatus: string }>, status: string, since: number): Promise<number> {
    await eventually(async () => ((await read().catch(() => undefined))?.consistencyStatus === status ? true : undefined), 60_000, 250);
    return (Date.now() - since) / 1000;
  }

  it('answers go SLIGHTLY_STALE then STALE when any stage stops, and UP_TO_DATE again after', async () => {
    for (const role of ['bridge', 'projector', 'views', 'api,monitor']) start(role);
    await eventually(async () => ((await fetch(`${api}/healthz`).catch(() => undefined))?.ok ? true : undefined), 90_000, 500);
    const load = spawnCli(['load', '--profile', 'flat', '--rate', '20', '--count', '200', '--inventories', '20', '--seed', '3', '--prefix', 'FR'], env);
    all.push(load);
    expect(await load.exited, load.output().slice(-2000)).toBe(0);

    // Idle and healthy: the canary keeps every answer UP_TO_DATE.
    await secondsUntil(inventory, 'UP_TO_DATE', Date.now());
    await secondsUntil(zoneView, 'UP_TO_DATE', Date.now());
    for (let i = 0; i < 8; i++) {
      const [a, b] = await Promise.all([inventory(), zoneView()]);
      expect([a.consistencyStatus, a.lagBasis, b.consistencyStatus], `lag ${a.lagSeconds} s / ${b.lagSeconds} s`).toEqual(['UP_TO_DATE', 'canary', 'UP_TO_DATE']);
      await new Promise((r) => setTimeout(r, 500));
    }

    const measured: string[] = [];
    const cases: { name: string; read: () => Promise<Freshness>; stop: () => Promise<() => Promise<void>> }[] = [
      { name: 'bridge frozen', read: inventory, stop: freeze('bridge') },
      { name: 'projector frozen', read: inventory, stop: freeze('projector') },
      { name: 'views frozen', read: zoneView, stop: freeze('views') },
      {
        name: 'bridge killed',
        read: zoneView,
        stop: async () => {
          await roles.get('bridge')!.kill9();
          return async () => void start('bridge');
        },
      },
    ];
    for (const c of cases) {
      const stoppedAt = Date.now();
      const resume = await c.stop();
      const slightly = await secondsUntil(c.read, 'SLIGHTLY_STALE', stoppedAt);
      const stale = await secondsUntil(c.read, 'STALE', stoppedAt);
      const resumedAt = Date.now();
      await resume();
      const upToDate = await secondsUntil(c.read, 'UP_TO_DATE', resumedAt);
      measured.push(`${c.name.padEnd(17)} SLIGHTLY_STALE after ${slightly.toFixed(1)} s, STALE after ${stale.toFixed(1)} s; UP_TO_DATE ${upToDate.toFixed(1)} s after resuming`);
      // Seen, in order (the delays are printed, not asserted: wall-clock bounds on a shared machine would flake).
      expect(slightly).toBeLessThanOrEqual(stale);
    }
    console.log(`freshness after a stage stops (canary every 1 s):\n  ${measured.join('\n  ')}`);
    for (const [role, p] of roles) expect(p.exitedUnexpectedly(), `${role}\n${p.output().slice(-2000)}`).toBe(false);
    for (const p of roles.values()) await p.terminate();
  });

  function freeze(role: string) {
    return async () => {
      const p = roles.get(role)!;
      p.child.kill('SIGSTOP');
      return async () => void p.child.kill('SIGCONT');
    };
  }
});
