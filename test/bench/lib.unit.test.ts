import { describe, expect, it } from 'vitest';
import { histogramBuckets, histogramQuantile, metricMax, sumOf } from '../../bench/lib/metrics.js';
import { CLK_TCK, machineCpuSeconds, processCpuSeconds } from '../../bench/lib/proc-cpu.js';
import { parseMetrics } from '../../src/monitor/scrape.js';

const text = `# HELP pipeline_e2e_latency_seconds x
# TYPE pipeline_e2e_latency_seconds histogram
pipeline_e2e_latency_seconds_bucket{le="0.1",view="inventories",group="g1"} 10
pipeline_e2e_latency_seconds_bucket{le="0.5",view="inventories",group="g1"} 30
pipeline_e2e_latency_seconds_bucket{le="+Inf",view="inventories",group="g1"} 40
pipeline_e2e_latency_seconds_bucket{le="0.1",view="inventories",group="g2"} 10
pipeline_e2e_latency_seconds_bucket{le="0.5",view="inventories",group="g2"} 10
pipeline_e2e_latency_seconds_bucket{le="+Inf",view="inventories",group="g2"} 10
pipeline_e2e_latency_seconds_bucket{le="0.1",view="other"} 99
cdc_bridge_written_at_age_ms{table="t",shard="a"} 120
cdc_bridge_written_at_age_ms{table="t",shard="b"} 340
consumer_batch_size_sum{group="g1"} 7
consumer_batch_size_sum{group="g2"} 5
`;

describe('bench helpers', () => {
  it('read the pipeline’s metrics with the product’s parser: sums, maxima and one view’s histogram', () => {
    const samples = parseMetrics(text);
    expect(sumOf(samples, 'consumer_batch_size_sum')).toBe(12);
    expect(metricMax(samples, 'cdc_bridge_written_at_age_ms')).toBe(340);
    expect(metricMax(samples, 'absent')).toBeUndefined();
    expect(histogramBuckets(samples, 'pipeline_e2e_latency_seconds', { view: 'inventories' })).toEqual(new Map([[0.1, 20], [0.5, 40], [Infinity, 50]]));
  });

  it('interpolate a quantile within the bucket as histogram_quantile does, over the difference of two scrapes', () => {
    const before = new Map([[0.1, 0], [0.5, 0], [Infinity, 0]]);
    const after = new Map([[0.1, 20], [0.5, 40], [Infinity, 50]]);
    expect(histogramQuantile(before, after, 0.5)).toEqual({ ms: 200, count: 50 });
    expect(histogramQuantile(before, after, 0.99)).toEqual({ ms: 500, count: 50 });
    expect(histogramQuantile(after, after, 0.5)).toEqual({ ms: null, count: 0 });
  });

  it('read CPU seconds from /proc with the kernel’s clock tick', () => {
    expect(CLK_TCK).toBeGreaterThan(0);
    expect(processCpuSeconds(process.pid)).toBeGreaterThan(0);
    expect(processCpuSeconds(2 ** 30)).toBeUndefined();
    const m = machineCpuSeconds();
    expect(m.total).toBeGreaterThan(m.busy);
  });
});
