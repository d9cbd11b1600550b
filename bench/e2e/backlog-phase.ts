/**
 * Each stage alone against a backlog (bench/e2e-latency.ts `--backlog`),
 * started one after the other so each has the machine to itself: `backlog`
 * events written flat out with no pipeline running (the journal's ceiling),
 * then the bridge started on the full stream (its relay ceiling), then the
 * projector and the views together on the full topic (their apply ceilings).
 */
import { sleep } from '../../src/shared/retry.js';
import { scrapeSamples, type Sample } from '../lib/metrics.js';
import { machineCpuSeconds } from '../lib/proc-cpu.js';
import { appliedOf, relayedOf } from './counters.js';
import { round, type StageAlone, type StagesAlone } from './results.js';
import { node, type RoleName, type RoleProcesses } from './roles.js';
import { serverCpuSeconds } from './stack.js';

const cpuOfPids = (pids: Record<string, number>) => Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, serverCpuSeconds(k, pid) ?? 0]));

export async function backlogPhase(o: {
  roles: RoleProcesses;
  env: Record<string, string>;
  table: string;
  run: string;
  inventories: string;
  backlog: number;
  /** The servers' pids (stackPids). */
  stack: Record<string, number>;
}): Promise<StagesAlone> {
  const { roles, backlog, stack } = o;
  const loader = node('bench/e2e-load.ts', [o.table, '0', '3600', o.inventories, '64', `B-${o.run}`, String(backlog)], o.env);
  const m0 = machineCpuSeconds();
  const s0 = cpuOfPids(stack);
  let summary: { events?: number; ratePerSecond?: number; cpuSeconds?: number } = {};
  if ((await loader.exited) !== 0) throw new Error(`backlog load failed: ${loader.output()}`);
  for (const l of loader.output().split('\n')) if (l.startsWith('S ')) summary = JSON.parse(l.slice(2)) as typeof summary;
  const m1 = machineCpuSeconds();
  const s1 = cpuOfPids(stack);
  const events = summary.events ?? backlog;
  const loadS = (summary.events ?? 0) / (summary.ratePerSecond ?? 1);
  const msPer = (sec: number) => round((sec * 1000) / events, 3);
  const journalStage = {
    events,
    ratePerSecond: round(summary.ratePerSecond ?? 0, 1),
    cpuMsPerEvent: { loadGenerator: msPer(summary.cpuSeconds ?? 0), ...Object.fromEntries(Object.keys(stack).map((k) => [k, msPer(s1[k]! - s0[k]!)])) },
    machineBusyPercent: round(((m1.busy - m0.busy) / (m1.total - m0.total)) * 100),
    seconds: round(loadS, 1),
  };
  console.log(JSON.stringify({ backlog: 'journal', ...journalStage }));

  /** Starts `names`, then follows `count` until it reaches `target`: rate from its first move to the end, CPU per event of each process. */
  const drain = async (names: RoleName[], count: (samples: Partial<Record<RoleName, Sample[]>>) => number, target: number): Promise<StageAlone> => {
    for (const r of names) roles.start(r);
    const all = { ...Object.fromEntries(names.map((r) => [r, roles.pid(r)])), ...stack };
    let first: { t: number; n: number; cpu: Record<string, number>; m: ReturnType<typeof machineCpuSeconds> } | undefined;
    const deadline = Date.now() + 15 * 60_000;
    for (;;) {
      const samples = Object.fromEntries(await Promise.all(roles.started().map(async (r) => [r, await scrapeSamples(roles.metricsUrl(r))] as const)));
      const n = count(samples);
      const now = Date.now();
      if (!first && n > 0) first = { t: now, n, cpu: cpuOfPids(all), m: machineCpuSeconds() };
      if (first && n >= target) {
        const cpu = cpuOfPids(all);
        const m = machineCpuSeconds();
        const s = (now - first.t) / 1000;
        const moved = n - first.n;
        return {
          events: moved,
          ratePerSecond: round(moved / s, 1),
          seconds: round(s, 1),
          cpuPercent: Object.fromEntries(Object.keys(all).map((k) => [k, round(((cpu[k]! - first!.cpu[k]!) / s) * 100)])),
          cpuMsPerEvent: Object.fromEntries(Object.keys(all).map((k) => [k, round(((cpu[k]! - first!.cpu[k]!) * 1000) / moved, 3)])),
          machineBusyPercent: round(((m.busy - first.m.busy) / (m.total - first.m.total)) * 100),
        };
      }
      if (now > deadline) throw new Error(`backlog drain of ${names.join(', ')} did not finish within 15 minutes (${n} of ${target})`);
      for (const r of names) if (roles.process(r).child.exitCode !== null) throw new Error(`${r} exited: ${roles.process(r).output()}`);
      await sleep(100);
    }
  };
  const relayed = (s: Partial<Record<RoleName, Sample[]>>) => relayedOf(s.bridge ?? []);
  const bridgeStage = await drain(['bridge'], relayed, events);
  console.log(JSON.stringify({ backlog: 'bridge', ...bridgeStage }));
  const target = relayedOf(await scrapeSamples(roles.metricsUrl('bridge')));
  // Both groups read the same topic; each is followed to the bridge's count at their start.
  const consumed = (s: Partial<Record<RoleName, Sample[]>>) => Math.min(appliedOf(s.projector ?? []), appliedOf(s.views ?? []));
  const consumerStage = await drain(['projector', 'views'], consumed, target);
  console.log(JSON.stringify({ backlog: 'projector+views', ...consumerStage }));
  return { events: backlog, journal: journalStage, bridge: bridgeStage, consumers: consumerStage };
}
