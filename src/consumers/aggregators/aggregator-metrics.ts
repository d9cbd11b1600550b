import { Counter, type Registry } from 'prom-client';

export interface AggregatorMetrics {
  lateEvents: Counter<'group' | 'policy'>;
}

const cache = new WeakMap<Registry, AggregatorMetrics>();

/** Metrics of the aggregators; one set per registry, so several aggregators can share one. */
export function aggregatorMetrics(registry: Registry): AggregatorMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const m: AggregatorMetrics = {
    lateEvents: new Counter({
      name: 'aggregator_late_events_total',
      help: 'Events that arrived after their event-time window closed (watermark past day end + grace), by late-event policy.',
      labelNames: ['group', 'policy'],
      registers: [registry],
    }),
  };
  cache.set(registry, m);
  return m;
}
