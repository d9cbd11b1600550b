import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS } from '../shared/latency-buckets.js';

/** Metrics every consumer group of the pipeline exports; one set per registry. */
export interface ConsumerMetrics {
  events: Counter<'group' | 'outcome'>;
  batchSize: Histogram<'group'>;
  batchDuration: Histogram<'group'>;
  txDuration: Histogram<'group'>;
  errors: Counter<'group' | 'code' | 'kind'>;
  state: Gauge<'group' | 'state'>;
  restarts: Counter<'group'>;
  canaryLatency: Histogram<'group'>;
  parkedIds: Gauge<'group'>;
  e2eLatency: Histogram<'view'>;
  stageLatency: Histogram<'group' | 'stage'>;
  blocked: Counter<'group' | 'kind'>;
}

const cache = new WeakMap<Registry, ConsumerMetrics>();

export function consumerMetrics(registry: Registry): ConsumerMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const m: ConsumerMetrics = {
    blocked: new Counter({
      name: 'consumer_partitions_blocked_total',
      help: 'Times a partition was stopped because its stored offset does not fit the topic (kind: below-log-start, beyond-log-end, other-record).',
      labelNames: ['group', 'kind'],
      registers,
    }),
    events: new Counter({
      name: 'consumer_events_total',
      help: 'Events seen by a consumer group, by outcome (applied, duplicate, gap_repaired, parked, ignored, dead_lettered, skipped).',
      labelNames: ['group', 'outcome'],
      registers,
    }),
    batchSize: new Histogram({
      name: 'consumer_batch_size',
      help: 'Records per applied batch.',
      labelNames: ['group'],
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000],
      registers,
    }),
    batchDuration: new Histogram({
      name: 'consumer_batch_duration_seconds',
      help: 'Wall time to decode, apply and commit one batch.',
      labelNames: ['group'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    txDuration: new Histogram({
      name: 'consumer_transaction_duration_seconds',
      help: 'Time one PostgreSQL transaction of a batch was open.',
      labelNames: ['group'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    errors: new Counter({
      name: 'consumer_errors_total',
      help: 'Failed batch attempts, by error code and kind (infrastructure: retried until it heals; data: by the recovery policy).',
      labelNames: ['group', 'code', 'kind'],
      registers,
    }),
    state: new Gauge({
      name: 'consumer_state',
      help: 'The consumer runner\'s state (1 for the current one): starting, running, retrying, restarting, failed, stopping, stopped.',
      labelNames: ['group', 'state'],
      registers,
    }),
    canaryLatency: new Histogram({
      name: 'pipeline_canary_latency_seconds',
      help: 'End-to-end canary: heartbeat written to the journal → committed in this group\'s views (readable through the API from then on).',
      labelNames: ['group'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    }),
    restarts: new Counter({
      name: 'consumer_restarts_total',
      help: 'Times the Kafka consumer of a group stopped (broker lost, session expired) and was restarted by the runner.',
      labelNames: ['group'],
      registers,
    }),
    parkedIds: new Gauge({
      name: 'consumer_parked_ids',
      help: 'Persistence ids waiting for a gap in their sequence to be filled from the journal.',
      labelNames: ['group'],
      registers,
    }),
    e2eLatency: new Histogram({
      name: 'pipeline_e2e_latency_seconds',
      help: 'Journal written_at → view commit, one observation per applied event, per view.',
      labelNames: ['view'],
      buckets: [...LATENCY_BUCKETS],
      registers,
    }),
    stageLatency: new Histogram({
      name: 'consumer_stage_latency_seconds',
      help: 'Per record, by stage: produced_to_consumed (its Kafka timestamp, set when the bridge produced it in its transaction → fetched by this group; includes the bridge\'s commit) and consumed_to_committed (fetched → its batch committed in PostgreSQL).',
      labelNames: ['group', 'stage'],
      buckets: [...LATENCY_BUCKETS],
      registers,
    }),
  };
  cache.set(registry, m);
  return m;
}
