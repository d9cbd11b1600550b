import { DashboardBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { datasourceVariable, stat, timeseries } from './panels.js';

const R = '$__rate_interval';
/** DynamoDB Streams keeps records 24 h. */
const RETENTION_MS = 24 * 3600 * 1000;

/**
 * The DynamoDB Streams → Kafka bridge (metrics of src/source/bridge-metrics.ts):
 * shards and leases, iterator age against the 24 h retention, checkpoints,
 * Kafka transactions, throughput.
 */
export const cdcBridge = () =>
  new DashboardBuilder('Pipeline / CDC bridge')
    .uid('pipeline-cdc-bridge')
    .tags(['pipeline', 'cdc', 'dynamodb'])
    .refresh('10s')
    .time({ from: 'now-1h', to: 'now' })
    .withVariable(datasourceVariable())
    .withRow(new RowBuilder('Risk'))
    .withPanel(stat('Iterator age', 's', { expr: 'max(cdc_bridge_iterator_age_ms) / 1000' }, 60, 3600))
    .withPanel(
      stat(
        'Retention risk (age ÷ 24 h)',
        'percentunit',
        { expr: `max(cdc_bridge_iterator_age_ms) / ${RETENTION_MS}` },
        0.25,
        0.5,
        'Share of the stream retention already used by the oldest unread record; at 100 % records are trimmed before they are relayed.',
      ),
    )
    .withPanel(stat('Checkpoint age', 's', { expr: 'max(cdc_bridge_checkpoint_age_seconds)' }, 60, 600))
    .withPanel(stat('Shards read', 'short', { expr: 'sum(cdc_bridge_shards_active)' }, 1e9, 1e9))
    .withRow(new RowBuilder('Throughput'))
    .withPanel(
      timeseries('Records per second', 'ops', [
        { expr: `sum by (table) (rate(cdc_bridge_records_read_total[${R}]))`, legend: 'read {{table}}' },
        { expr: `sum by (table) (rate(cdc_bridge_records_relayed_total[${R}]))`, legend: 'relayed {{table}}' },
        { expr: `sum by (table) (rate(cdc_bridge_records_dead_lettered_total[${R}]))`, legend: 'dead-lettered {{table}}' },
        { expr: `sum by (table) (rate(cdc_bridge_backfill_items_total[${R}]))`, legend: 'backfill {{table}}' },
        { expr: `sum by (table) (rate(cdc_bridge_gap_repair_relayed_total[${R}]))`, legend: 'gap repair {{table}}' },
      ]),
    )
    .withPanel(
      timeseries('Iterator age and written_at age per shard', 's', [
        { expr: 'max by (table, shard) (cdc_bridge_iterator_age_ms) / 1000', legend: 'iterator {{table}} {{shard}}' },
        { expr: 'max by (table, shard) (cdc_bridge_written_at_age_ms) / 1000', legend: 'written_at {{table}} {{shard}}' },
      ]),
    )
    .withPanel(
      timeseries('Kafka transactions', 'ops', [
        { expr: `sum by (table) (rate(cdc_bridge_transactions_committed_total[${R}]))`, legend: 'committed {{table}}' },
        { expr: `sum by (table, reason) (rate(cdc_bridge_transactions_aborted_total[${R}]))`, legend: 'aborted {{table}} {{reason}}' },
        { expr: `sum by (table) (rate(cdc_bridge_producer_resets_total[${R}]))`, legend: 'producer resets {{table}}' },
      ]),
    )
    .withPanel(
      timeseries('GetRecords latency p50 / p99 and throttles', 's', [
        { expr: `histogram_quantile(0.5, sum by (table, le) (rate(cdc_bridge_get_records_seconds_bucket[${R}])))`, legend: 'p50 {{table}}' },
        { expr: `histogram_quantile(0.99, sum by (table, le) (rate(cdc_bridge_get_records_seconds_bucket[${R}])))`, legend: 'p99 {{table}}' },
        { expr: `sum by (table, operation) (rate(cdc_bridge_throttles_total[${R}]))`, legend: 'throttles/s {{table}} {{operation}}' },
      ]),
    )
    .withPanel(
      timeseries('Shards, leases and checkpoint age', 'short', [
        { expr: 'sum by (table) (cdc_bridge_shards_active)', legend: 'shards {{table}}' },
        { expr: 'sum by (table, worker) (cdc_bridge_leases_held)', legend: 'leases {{table}} {{worker}}' },
        { expr: 'max by (table) (cdc_bridge_checkpoint_age_seconds)', legend: 'checkpoint age s {{table}}' },
      ]),
    );
