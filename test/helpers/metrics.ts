import type { Registry } from 'prom-client';

/** A histogram's count, sum and cumulative buckets per `stage` label, summed over its other labels. */
export async function histogramByStage(registry: Registry, name: string) {
  const values = (await registry.getSingleMetric(name)!.get()).values;
  const byStage = new Map<string, { count: number; sum: number; le: Map<number, number> }>();
  for (const v of values) {
    const stage = String(v.labels.stage);
    const h = byStage.get(stage) ?? { count: 0, sum: 0, le: new Map() };
    byStage.set(stage, h);
    const metric = (v as { metricName?: string }).metricName ?? '';
    if (metric.endsWith('_count')) h.count = v.value;
    else if (metric.endsWith('_sum')) h.sum = v.value;
    else if (v.labels.le !== undefined) h.le.set(v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), v.value);
  }
  return byStage;
}
