/**
 * Histogram buckets (seconds) for the pipeline's latencies: fine enough below
 * a second to place a p50 and a p99 there — 10 ms steps to 100 ms, 50 ms steps
 * to 2 s — then coarse up to 5 min for a pipeline that is catching up. They
 * hold every bound the earlier coarse buckets had (0.05, 0.1, 0.25, 0.5, 1, 2,
 * 5, 10, 30, 60, 300), so queries on those bounds keep working.
 */
export const LATENCY_BUCKETS: readonly number[] = [
  ...Array.from({ length: 10 }, (_, i) => (i + 1) / 100),
  ...Array.from({ length: 38 }, (_, i) => Math.round((0.15 + i * 0.05) * 100) / 100),
  2.5,
  5,
  10,
  30,
  60,
  300,
];
