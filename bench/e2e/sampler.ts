/** The once-a-second timeline of a rate window (bench/e2e-latency.ts): each stage's count and backlog, each process's CPU. */
import { sleep } from '../../src/shared/retry.js';
import type { CounterReader, Counters } from './counters.js';
import { round, type Sample } from './results.js';

export function startSampler(o: {
  counters: CounterReader;
  /** The counters when the window opened. */
  base: Counters;
  t0: number;
  cpu0: Record<string, number | undefined>;
  loaderPid: number | undefined;
  /** Events appended to the journal since the window opened. */
  journalCount: () => number;
}): { timeline: Sample[]; stop(): Promise<void> } {
  const { counters, base, t0 } = o;
  const timeline: Sample[] = [];
  let sampling = true;
  const done = (async () => {
    let prevCpu = o.cpu0;
    let prevT = Date.now();
    while (sampling) {
      await sleep(1000);
      const c = await counters.read();
      const now = Date.now();
      const cpu = counters.cpuNow(o.loaderPid);
      const journalCount = o.journalCount();
      const relayed = c.relayed - base.relayed;
      const cpuPercent: Record<string, number> = {};
      for (const [k, v] of Object.entries(cpu)) {
        const p = prevCpu[k];
        if (v !== undefined && p !== undefined) cpuPercent[k] = round(((v - p) / ((now - prevT) / 1000)) * 100);
      }
      prevCpu = { ...prevCpu, ...Object.fromEntries(Object.entries(cpu).filter(([, v]) => v !== undefined)) };
      prevT = now;
      timeline.push({
        t: round((now - t0) / 1000, 1),
        journal: journalCount,
        relayed,
        projected: c.projectorApplied - base.projectorApplied,
        aggregated: c.viewsApplied - base.viewsApplied,
        relayLag: Math.max(0, journalCount - relayed),
        projectorLag: Math.max(0, c.relayed - c.projectorApplied - (base.relayed - base.projectorApplied)),
        viewsLag: Math.max(0, c.relayed - c.viewsApplied - (base.relayed - base.viewsApplied)),
        bridgeWrittenAtAgeMs: c.bridgeAgeMs,
        cpuPercent,
      });
    }
  })();
  return {
    timeline,
    /** Stops after the sample in progress. */
    async stop() {
      sampling = false;
      await done;
    },
  };
}
