/**
 * One rate window of bench/e2e-latency.ts: `rate` offered for `secs` by the
 * load generator process (rate 0: flat out, as fast as the journal takes
 * appends), the probe back to back, the timeline sampled every second; then
 * the drain, each process's CPU over the window, the commit latencies from
 * the roles' histograms, each stage's backlog and the verdict.
 */
import { cpus } from 'node:os';
import { histogramQuantile } from '../lib/metrics.js';
import { machineCpuSeconds } from '../lib/proc-cpu.js';
import { e2eHistogram, type CounterReader } from './counters.js';
import type { Probe } from './probe.js';
import { pct, round, stageOf, type CpuResult, type RateResult } from './results.js';
import { node } from './roles.js';
import { startSampler } from './sampler.js';
import { retriesByCode, stageLatencyOf } from './stage-latency.js';
import { startStreamVisibilityProbe } from '../stream-visibility.js';
import { limitOf } from './verdict.js';

export function createRateWindow(o: {
  counters: CounterReader;
  probe: Probe;
  env: Record<string, string>;
  table: string;
  run: string;
  inventories: string;
  /** The journal's DynamoDB endpoint: DynamoDB Local's stream visibility is measured apart there. */
  dynamodbEndpoint: string;
}) {
  const { counters, probe } = o;
  return async function measure(rate: number, secs: number): Promise<RateResult> {
    // Start from an empty pipeline: the previous rate's tail (and the canary) applied everywhere.
    const settle = await counters.read();
    await counters.drained(() => 0, settle, 60_000);
    const base = await counters.read();
    const probeBase = probe.appends();
    const histBefore = { projector: e2eHistogram(base.projector, 'inventories'), views: e2eHistogram(base.views, 'stock_by_warehouse_zone') };
    // Enough writers that the generator is never the limit by latency alone (16 in flight carry ~1,000/s at 16 ms a put).
    const concurrency = rate === 0 ? 64 : Math.max(16, Math.ceil(rate / 25));
    const loader = node('bench/e2e-load.ts', [o.table, String(rate), String(secs), o.inventories, String(concurrency), `L${rate || 'max'}-${o.run}`], o.env);
    let loaded = 0;
    let summary: { events?: number; ratePerSecond?: number; cpuSeconds?: number } = {};
    let pending = '';
    let ready!: () => void;
    const writing = new Promise<void>((r) => (ready = r));
    loader.child.stdout!.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const l of lines) {
        if (l.startsWith('R ')) ready();
        else if (l.startsWith('P ')) loaded = Number(l.split(' ')[2]);
        else if (l.startsWith('S ')) summary = JSON.parse(l.slice(2)) as typeof summary;
      }
    });
    // The window opens when the generator has loaded its code and starts writing (tsx start-up is not load).
    await Promise.race([writing, loader.exited]);
    const t0 = Date.now();
    const visibility = startStreamVisibilityProbe({ endpoint: o.dynamodbEndpoint, table: o.table, writtenAt: 'written_at' });
    const cpu0 = counters.cpuNow(loader.child.pid);
    const m0 = machineCpuSeconds();
    let loadDone = false;
    void loader.exited.then(() => (loadDone = true));
    const written = () => loaded + (probe.appends() - probeBase);

    // Sampler: once a second until the load has ended and drained (or the drain timed out).
    const sampler = startSampler({ counters, base, t0, cpu0, loaderPid: loader.child.pid, journalCount: written });
    const { timeline } = sampler;

    // The probe, back to back until the load stops.
    const { latencies, gets } = await probe.measure(() => loadDone, t0 + (secs + 30) * 1000);
    await loader.exited;
    const endAt = Date.now();
    const streamVisibility = await visibility.stop();
    const cpu1 = counters.cpuNow(undefined);
    const m1 = machineCpuSeconds();
    const windowS = (endAt - t0) / 1000;
    const drainSeconds = await counters.drained(written, base, 120_000);
    await sampler.stop();
    const eventsInWindow = written();
    const cpuOf = (used: number): CpuResult => ({
      seconds: round(used, 2),
      percent: round((used / windowS) * 100),
      msPerEvent: eventsInWindow > 0 ? round((used * 1000) / eventsInWindow, 3) : null,
    });
    // CPU over the load window (the drain after it is not counted); the generator reports its own.
    const cpu: Record<string, CpuResult> = {};
    for (const [k, v0] of Object.entries(cpu0)) {
      const v1 = cpu1[k];
      if (v0 === undefined || v1 === undefined) continue;
      cpu[k] = cpuOf(v1 - v0);
    }
    if (summary.cpuSeconds !== undefined) cpu.loadGenerator = cpuOf(summary.cpuSeconds);
    const ours = Object.values(cpu).reduce((a, c) => a + c.seconds, 0);
    const ourMsPerEvent = eventsInWindow > 0 ? (ours * 1000) / eventsInWindow : null;
    // Everything else on the machine (other users' processes): the contention the figures were taken under.
    cpu.otherProcesses = cpuOf(Math.max(0, m1.busy - m0.busy - ours));
    const after = await counters.read();
    const histAfter = { projector: e2eHistogram(after.projector, 'inventories'), views: e2eHistogram(after.views, 'stock_by_warehouse_zone') };
    const proj50 = histogramQuantile(histBefore.projector, histAfter.projector, 0.5);
    const proj99 = histogramQuantile(histBefore.projector, histAfter.projector, 0.99);
    const views50 = histogramQuantile(histBefore.views, histAfter.views, 0.5);
    const views99 = histogramQuantile(histBefore.views, histAfter.views, 0.99);
    const series = (k: 'relayLag' | 'projectorLag' | 'viewsLag') => timeline.map((s) => ({ t: s.t, lag: s[k] }));
    const accepted = summary.ratePerSecond ?? (loaded > 0 ? loaded / windowS : null);
    // Flat out, the offer is what the journal took: backlogs are judged against that.
    const offered = rate === 0 ? (accepted ?? 0) : rate;
    // Throughput through each stage over the load window: its count at the last sample inside the window.
    const lastIn = [...timeline].reverse().find((x) => x.t <= windowS);
    const rateOf = (k: 'relayed' | 'projected' | 'aggregated') => (lastIn && lastIn.t > 0 ? lastIn[k] / lastIn.t : 0);
    const stages = {
      relay: stageOf(series('relayLag'), rateOf('relayed'), windowS, offered),
      projector: stageOf(series('projectorLag'), rateOf('projected'), windowS, offered),
      views: stageOf(series('viewsLag'), rateOf('aggregated'), windowS, offered),
    };
    const ages = timeline.filter((s) => s.t <= windowS && s.bridgeWrittenAtAgeMs !== null).map((s) => s.bridgeWrittenAtAgeMs!);
    const growing = Object.values(stages).some((s) => s.growing);
    const acceptedShare = accepted === null ? 0 : accepted / offered;
    const machineBusyPercent = round(((m1.busy - m0.busy) / (m1.total - m0.total)) * 100);
    const limit = limitOf({ rate, accepted, acceptedShare, cpu, machineBusyPercent, stages, drainSeconds });
    const result: RateResult = {
      offeredRate: rate,
      acceptedRate: accepted === null ? null : round(accepted, 1),
      loadConcurrency: concurrency,
      probes: latencies.length,
      p50Ms: pct(latencies, 50),
      p99Ms: pct(latencies, 99),
      maxMs: latencies.length ? Math.max(...latencies) : null,
      apiGetP50Ms: gets.length ? round(pct(gets, 50)!, 1) : null,
      apiGetP99Ms: gets.length ? round(pct(gets, 99)!, 1) : null,
      committedEvents: proj50.count,
      commitP50Ms: proj50.ms,
      commitP99Ms: proj99.ms,
      viewsCommittedEvents: views50.count,
      viewsCommitP50Ms: views50.ms,
      viewsCommitP99Ms: views99.ms,
      bridgeAgeP50Ms: pct(ages, 50),
      bridgeAgeP99Ms: pct(ages, 99),
      stages,
      stageLatency: stageLatencyOf(base, after),
      bridgeClientRetries: retriesByCode(base.bridge, after.bridge),
      streamVisibility,
      lagGrowing: growing,
      lagEnd: round(stages.projector.lagEnd + stages.views.lagEnd),
      drainSeconds: drainSeconds === null ? null : round(drainSeconds, 1),
      windowSeconds: round(windowS, 1),
      cpu,
      machineBusyPercent,
      cpuMsPerEventTotal: ourMsPerEvent === null ? null : round(ourMsPerEvent, 2),
      machineCapacityEstimate: ourMsPerEvent ? Math.round((cpus().length * 1000) / ourMsPerEvent) : null,
      sustained: limit === null,
      limit,
      timeline,
    };
    const { timeline: _t, ...line } = result;
    console.log(JSON.stringify(line));
    return result;
  };
}
