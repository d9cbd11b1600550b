/**
 * Per-stage latency over one rate window of bench/e2e-latency.ts, from the
 * difference of two scrapes of the roles' stage histograms (one observation
 * per record): the bridge's three stages, each group's two (produced →
 * consumed holds the bridge's commit) and the whole path (journal → committed
 * in PostgreSQL).
 */
import { histogramBuckets, histogramQuantile, type Sample } from '../lib/metrics.js';
import type { Counters } from './counters.js';
import type { StageLatency, StageQuantiles } from './results.js';

type Role = 'bridge' | 'projector' | 'views';

export function stageLatencyOf(before: Counters, after: Counters): StageLatency {
  const q = (role: Role, name: string, labels: Record<string, string>): StageQuantiles => {
    const b = histogramBuckets(before[role], name, labels);
    const a = histogramBuckets(after[role], name, labels);
    const p50 = histogramQuantile(b, a, 0.5);
    return { p50Ms: p50.ms, p99Ms: histogramQuantile(b, a, 0.99).ms, count: p50.count };
  };
  const bridge = (stage: string) => q('bridge', 'cdc_bridge_stage_latency_seconds', { stage });
  const group = (role: 'projector' | 'views', view: string) => ({
    producedToConsumed: q(role, 'consumer_stage_latency_seconds', { stage: 'produced_to_consumed' }),
    consumedToCommitted: q(role, 'consumer_stage_latency_seconds', { stage: 'consumed_to_committed' }),
    journalToCommitted: q(role, 'pipeline_e2e_latency_seconds', { view }),
  });
  return {
    journalToRead: bridge('journal_to_read'),
    readToProduced: bridge('read_to_produced'),
    producedToCommitted: bridge('produced_to_committed'),
    projector: group('projector', 'inventories'),
    views: group('views', 'stock_by_warehouse_zone'),
  };
}

/** Increase of `pipeline_client_retries_total` by code between two scrapes of one role. */
export function retriesByCode(before: readonly Sample[], after: readonly Sample[]): Record<string, number> {
  const byCode = (samples: readonly Sample[]) => {
    const m = new Map<string, number>();
    for (const s of samples) if (s.name === 'pipeline_client_retries_total') m.set(s.labels.code ?? '?', (m.get(s.labels.code ?? '?') ?? 0) + s.value);
    return m;
  };
  const b = byCode(before);
  return Object.fromEntries([...byCode(after)].map(([code, n]) => [code, n - (b.get(code) ?? 0)] as const).filter(([, n]) => n > 0));
}
