/** What bench/e2e-latency.ts reads from the running roles each second: their counters (/metrics) and every process's CPU time. */
import { sleep } from '../../src/shared/retry.js';
import { histogramBuckets, metricMax, scrapeSamples, sumOf, type Buckets, type Sample } from '../lib/metrics.js';
import { processCpuSeconds } from '../lib/proc-cpu.js';
import type { RoleProcesses } from './roles.js';
import { serverCpuSeconds } from './stack.js';

export interface Counters {
  bridge: Sample[];
  projector: Sample[];
  views: Sample[];
  /** Records the bridge relayed, and each group applied, since its start. */
  relayed: number;
  projectorApplied: number;
  viewsApplied: number;
  /** Relay time − written_at of the bridge's last relayed record. */
  bridgeAgeMs: number | null;
}

/** Records a role counts: the bridge its relayed records, a consumer group the records of its batches. */
export const relayedOf = (bridge: Sample[]) => sumOf(bridge, 'cdc_bridge_records_relayed_total');
export const appliedOf = (group: Sample[]) => sumOf(group, 'consumer_batch_size_sum');
/** pipeline_e2e_latency_seconds of one view, summed over the other labels. */
export const e2eHistogram = (samples: Sample[], view: string): Buckets => histogramBuckets(samples, 'pipeline_e2e_latency_seconds', { view });

/** `stack`: the servers' pids (stackPids, with a private DynamoDB Local's in place of the stack's). */
export function createCounters(roles: RoleProcesses, stack: Record<string, number>) {
  const read = async (): Promise<Counters> => {
    const [bridge, projector, views] = await Promise.all([
      scrapeSamples(roles.metricsUrl('bridge')),
      scrapeSamples(roles.metricsUrl('projector')),
      scrapeSamples(roles.metricsUrl('views')),
    ]);
    return {
      bridge, projector, views,
      relayed: relayedOf(bridge),
      projectorApplied: appliedOf(projector),
      viewsApplied: appliedOf(views),
      bridgeAgeMs: metricMax(bridge, 'cdc_bridge_written_at_age_ms') ?? null,
    };
  };
  return {
    read,
    /** CPU seconds so far of every role, the load generator (when running), this process and the stack's servers. */
    cpuNow(loaderPid: number | undefined): Record<string, number | undefined> {
      return {
        ...Object.fromEntries(roles.started().map((r) => [r, processCpuSeconds(roles.pid(r))])),
        loadGenerator: loaderPid === undefined ? undefined : processCpuSeconds(loaderPid),
        bench: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
        ...Object.fromEntries(Object.entries(stack).map(([svc, pid]) => [svc, serverCpuSeconds(svc, pid)])),
      };
    },
    /** Waits until every stage has caught up with what was written (records), up to `timeoutMs`; returns seconds taken or null. */
    async drained(written: () => number, base: Counters, timeoutMs: number): Promise<number | null> {
      const t0 = Date.now();
      while (Date.now() - t0 < timeoutMs) {
        const c = await read();
        const relayed = c.relayed - base.relayed;
        if (relayed >= written() && c.projectorApplied >= c.relayed - 2 && c.viewsApplied >= c.relayed - 2) return (Date.now() - t0) / 1000;
        await sleep(200);
      }
      return null;
    },
  };
}
export type CounterReader = ReturnType<typeof createCounters>;
