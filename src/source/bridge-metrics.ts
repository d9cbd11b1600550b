import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS } from '../shared/latency-buckets.js';

/**
 * The CDC bridge's Prometheus metrics (`cdc_bridge_*`), registered on the
 * registry the caller passes. Registering twice on one registry (two
 * bridges in a process) reuses the existing collectors.
 */
export interface BridgeMetrics {
  recordsRead: Counter<'table' | 'shard'>;
  recordsRelayed: Counter<'table' | 'shard'>;
  recordsFiltered: Counter<'table' | 'shard' | 'event_name'>;
  recordsDeadLettered: Counter<'table' | 'shard' | 'error_code'>;
  batchSize: Histogram<'table'>;
  getRecordsSeconds: Histogram<'table'>;
  stageLatency: Histogram<'table' | 'stage'>;
  throttles: Counter<'table' | 'operation'>;
  iteratorAgeMs: Gauge<'table' | 'shard'>;
  writtenAtAgeMs: Gauge<'table' | 'shard'>;
  checkpointAgeSeconds: Gauge<'table' | 'shard'>;
  lastCheckpointAt: Gauge<'table' | 'shard'>;
  transactionsCommitted: Counter<'table'>;
  transactionsAborted: Counter<'table' | 'reason'>;
  producerResets: Counter<'table'>;
  leasesHeld: Gauge<'table' | 'worker'>;
  shardsActive: Gauge<'table'>;
  shards: Gauge<'table' | 'state'>;
  transientFaults: Counter<'table' | 'stage'>;
  shardFailures: Counter<'table' | 'shard' | 'stage'>;
  backfillItems: Counter<'table'>;
  gapRepairItemsRead: Counter<'table'>;
  gapRepairRelayed: Counter<'table'>;
}

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

export function createBridgeMetrics(registry: Registry): BridgeMetrics {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
    getOrCreate(registry, name, () => new Counter<L>({ name, help, labelNames, registers }));
  const gauge = <L extends string>(name: string, help: string, labelNames: L[]) =>
    getOrCreate(registry, name, () => new Gauge<L>({ name, help, labelNames, registers }));
  const histogram = <L extends string>(name: string, help: string, labelNames: L[], buckets: number[]) =>
    getOrCreate(registry, name, () => new Histogram<L>({ name, help, labelNames, buckets, registers }));

  return {
    recordsRead: counter('cdc_bridge_records_read_total', 'Stream records read from DynamoDB Streams.', ['table', 'shard']),
    recordsRelayed: counter('cdc_bridge_records_relayed_total', 'Records committed to the event topic.', ['table', 'shard']),
    recordsFiltered: counter('cdc_bridge_records_filtered_total', 'Records skipped by the MODIFY/REMOVE policy.', ['table', 'shard', 'event_name']),
    recordsDeadLettered: counter('cdc_bridge_records_dead_lettered_total', 'Records written to the bridge DLQ.', ['table', 'shard', 'error_code']),
    batchSize: histogram('cdc_bridge_batch_size', 'Records per GetRecords page that was relayed.', ['table'], [1, 5, 10, 50, 100, 250, 500, 1000]),
    getRecordsSeconds: histogram('cdc_bridge_get_records_seconds', 'GetRecords latency.', ['table'], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]),
    stageLatency: histogram(
      'cdc_bridge_stage_latency_seconds',
      'Per relayed record, by stage: journal_to_read (written_at → GetRecords answered), read_to_produced (→ its transaction began sending: mapping and the group commit\'s wait), produced_to_committed (→ the transaction committed).',
      ['table', 'stage'],
      [...LATENCY_BUCKETS],
    ),
    throttles: counter('cdc_bridge_throttles_total', 'Throttled DynamoDB Streams calls (retried with backoff).', ['table', 'operation']),
    iteratorAgeMs: gauge('cdc_bridge_iterator_age_ms', 'Now minus ApproximateCreationDateTime of the last record read (24 h = retention).', ['table', 'shard']),
    writtenAtAgeMs: gauge('cdc_bridge_written_at_age_ms', 'Relay time minus written_at of the last relayed record.', ['table', 'shard']),
    checkpointAgeSeconds: gauge('cdc_bridge_checkpoint_age_seconds', 'Seconds since the shard checkpoint was last committed (updated on each poll).', ['table', 'shard']),
    lastCheckpointAt: gauge('cdc_bridge_last_checkpoint_timestamp_seconds', 'Unix time of the last committed shard checkpoint.', ['table', 'shard']),
    transactionsCommitted: counter('cdc_bridge_transactions_committed_total', 'Committed batches (Kafka transactions in exactly-once mode).', ['table']),
    transactionsAborted: counter('cdc_bridge_transactions_aborted_total', 'Failed/aborted batches, by Kafka error type.', ['table', 'reason']),
    producerResets: counter('cdc_bridge_producer_resets_total', 'Producers torn down and re-initialised after a transaction failure.', ['table']),
    leasesHeld: gauge('cdc_bridge_leases_held', 'Shard leases held by this worker.', ['table', 'worker']),
    shardsActive: gauge('cdc_bridge_shards_active', 'Shards this process is reading.', ['table']),
    shards: gauge('cdc_bridge_shards', 'Shards of this process by worker state (failed: stopped on a programming error; recovering: retrying a transient fault).', ['table', 'state']),
    transientFaults: counter('cdc_bridge_transient_faults_total', 'Transient faults (AWS, network, Kafka, registry) retried with backoff, by stage.', ['table', 'stage']),
    shardFailures: counter('cdc_bridge_shard_failures_total', 'Shards stopped on a programming error (never retried; a person should look).', ['table', 'shard', 'stage']),
    backfillItems: counter('cdc_bridge_backfill_items_total', 'Items scanned by first-start table snapshots (backfill).', ['table']),
    gapRepairItemsRead: counter('cdc_bridge_gap_repair_items_read_total', 'Items a stream-gap repair read from the table or its write-time index.', ['table']),
    gapRepairRelayed: counter('cdc_bridge_gap_repair_relayed_total', 'Events a stream-gap repair relayed (the gap).', ['table']),
  };
}
