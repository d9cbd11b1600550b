/** What bench/e2e-latency.ts records per offered rate and per stage, and how a stage's backlog series is judged. */
import type { VisibilityResult } from '../stream-visibility.js';

export const round = (v: number, digits = 0) => Math.round(v * 10 ** digits) / 10 ** digits;
export const pct = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]! : null);

export interface StageResult {
  /** Records per second through the stage during the load window. */
  throughputPerSecond: number;
  /** Backlog (records upstream of the stage not yet through it): 3–8 s into the window, its last 5 s, its max. */
  lagStart: number;
  lagEnd: number;
  lagMax: number;
  /** Least-squares slope of the backlog over the window, records/s. */
  lagSlopePerSecond: number;
  growing: boolean;
}
export interface CpuResult {
  /** CPU seconds used during the load window. */
  seconds: number;
  /** Of one core, over the window. */
  percent: number;
  /** CPU milliseconds per event the journal accepted: what the process costs per event, whatever else runs on the machine. */
  msPerEvent: number | null;
}
export interface Sample {
  /** Seconds since the load started. */
  t: number;
  /** Events through each stage since the window started: appended to the journal, relayed to Kafka, applied by each group. */
  journal: number;
  relayed: number;
  projected: number;
  aggregated: number;
  relayLag: number;
  projectorLag: number;
  viewsLag: number;
  bridgeWrittenAtAgeMs: number | null;
  cpuPercent: Record<string, number>;
}
export interface StageAlone {
  events: number;
  ratePerSecond: number;
  seconds: number;
  cpuPercent: Record<string, number>;
  cpuMsPerEvent: Record<string, number>;
  machineBusyPercent: number;
}
export interface StagesAlone {
  events: number;
  journal: { events: number; ratePerSecond: number; seconds: number; cpuMsPerEvent: Record<string, number>; machineBusyPercent: number };
  bridge: StageAlone;
  /** The projector and the views groups together (rate: the slower of the two). */
  consumers: StageAlone;
}
/** p50 / p99 of one stage histogram over a window, and how many records it observed. */
export interface StageQuantiles {
  p50Ms: number | null;
  p99Ms: number | null;
  count: number;
}
/** A consumer group's stages, and its whole path (journal → committed in PostgreSQL). */
export interface GroupStages {
  producedToConsumed: StageQuantiles;
  consumedToCommitted: StageQuantiles;
  journalToCommitted: StageQuantiles;
}
/** Per-stage latency over one window (bench/e2e/stage-latency.ts). */
export interface StageLatency {
  journalToRead: StageQuantiles;
  readToProduced: StageQuantiles;
  producedToCommitted: StageQuantiles;
  projector: GroupStages;
  views: GroupStages;
}
export interface RateResult {
  offeredRate: number;
  acceptedRate: number | null;
  loadConcurrency: number;
  probes: number;
  /** Probe: journal append → new sequence number visible through GET /inventories/:id. */
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** The API's share: the probe's GETs themselves. */
  apiGetP50Ms: number | null;
  apiGetP99Ms: number | null;
  /** pipeline_e2e_latency_seconds of the projector's `inventories` view: written_at (stream record created) → committed. */
  committedEvents: number;
  commitP50Ms: number | null;
  commitP99Ms: number | null;
  /** The same for the views group (its stock_by_warehouse_zone view). */
  viewsCommittedEvents: number;
  viewsCommitP50Ms: number | null;
  viewsCommitP99Ms: number | null;
  /** Bridge: relay time − written_at of the last relayed record, sampled each second. */
  bridgeAgeP50Ms: number | null;
  bridgeAgeP99Ms: number | null;
  stages: { relay: StageResult; projector: StageResult; views: StageResult };
  /** Per-stage latency over the window, one observation per record. */
  stageLatency: StageLatency;
  /** Errors the bridge's Kafka client retried by itself during the window, by code (CONCURRENT_TRANSACTIONS: a transaction began before the previous one's markers were written). */
  bridgeClientRetries: Record<string, number>;
  /** DynamoDB Local's part measured apart: written_at → a reader polling the stream every 10 ms sees it (bench/stream-visibility.ts). */
  streamVisibility: VisibilityResult;
  lagGrowing: boolean;
  /** Summed backlog of the consumer groups at the end of the load. */
  lagEnd: number;
  /** Seconds from the end of the load until every stage had caught up (null: not within the drain timeout). */
  drainSeconds: number | null;
  windowSeconds: number;
  cpu: Record<string, CpuResult>;
  /** Busy share of the machine's cores (every process of every user), percent of all cores. */
  machineBusyPercent: number;
  /**
   * CPU milliseconds per accepted event summed over every process of the run (roles, generator, bench,
   * stack servers; not `otherProcesses`), and the rate all the machine's cores would carry at that cost:
   * what this machine could take with nothing else running (an estimate: per-event costs fall as batches grow).
   */
  cpuMsPerEventTotal: number | null;
  machineCapacityEstimate: number | null;
  sustained: boolean;
  /** Why not sustained (null when sustained). */
  limit: string | null;
  timeline: Sample[];
}

/** The backlog series of one stage → its figures. */
export function stageOf(series: { t: number; lag: number }[], throughputPerSecond: number, windowS: number, rate: number): StageResult {
  const during = series.filter((s) => s.t <= windowS);
  const early = during.filter((s) => s.t >= 3 && s.t <= 8).map((s) => s.lag);
  const late = during.filter((s) => s.t > windowS - 5).map((s) => s.lag);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const fit = during.filter((s) => s.t >= 3);
  const mt = mean(fit.map((s) => s.t));
  const ml = mean(fit.map((s) => s.lag));
  const den = fit.reduce((a, s) => a + (s.t - mt) ** 2, 0);
  const slope = den > 0 ? fit.reduce((a, s) => a + (s.t - mt) * (s.lag - ml), 0) / den : 0;
  const lagStart = mean(early);
  const lagEnd = mean(late);
  return {
    throughputPerSecond: round(throughputPerSecond),
    lagStart: round(lagStart),
    lagEnd: round(lagEnd),
    lagMax: Math.max(0, ...during.map((s) => s.lag)),
    lagSlopePerSecond: round(slope, 1),
    growing: lagEnd - lagStart > Math.max(200, 0.5 * rate),
  };
}
