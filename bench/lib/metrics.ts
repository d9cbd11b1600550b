/**
 * Prometheus text from the pipeline's /metrics endpoints, read with the
 * product's own parser (src/monitor/scrape.ts), for the benchmarks.
 */
import { parseMetrics, sumOf, type Sample } from '../../src/monitor/scrape.js';

export { sumOf, type Sample };

/** The samples a /metrics endpoint serves; none when it does not answer within 2 s. */
export async function scrapeSamples(url: string): Promise<Sample[]> {
  const text = await fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.text()).catch(() => '');
  return parseMetrics(text);
}

const matching = (samples: readonly Sample[], name: string, labels: Record<string, string>) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Number.isFinite(s.value));

/** Largest of a metric's samples, undefined when it has none. */
export function metricMax(samples: readonly Sample[], name: string): number | undefined {
  const values = matching(samples, name, {}).map((s) => s.value);
  return values.length > 0 ? Math.max(...values) : undefined;
}

/** Cumulative bucket counts (upper bound → count) of a histogram, summed over the samples that carry every given label value. */
export type Buckets = Map<number, number>;
export function histogramBuckets(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): Buckets {
  const buckets: Buckets = new Map();
  for (const s of matching(samples, `${name}_bucket`, labels)) {
    const le = s.labels.le;
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + s.value);
  }
  return buckets;
}

/** histogram_quantile over the difference of two scrapes, in milliseconds (interpolated within buckets, as Prometheus does). */
export function histogramQuantile(before: Buckets, after: Buckets, q: number): { ms: number | null; count: number } {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const cum = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const count = cum.at(-1) ?? 0;
  if (count <= 0) return { ms: null, count: 0 };
  const rank = q * count;
  const i = cum.findIndex((c) => c >= rank);
  const upper = bounds[i]!;
  const lower = i === 0 ? 0 : bounds[i - 1]!;
  // Above the last finite bucket Prometheus answers that bucket's bound: so do we.
  if (upper === Infinity) return { ms: lower * 1000, count };
  const below = i === 0 ? 0 : cum[i - 1]!;
  const inBucket = cum[i]! - below;
  const s = lower + (upper - lower) * (inBucket > 0 ? (rank - below) / inBucket : 1);
  return { ms: Math.round(s * 1000), count };
}
