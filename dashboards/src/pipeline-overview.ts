import { DashboardBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { datasourceVariable, stat, timeseries } from './panels.js';

const R = '$__rate_interval';

/** The whole path at a glance: events per stage, end-to-end freshness, errors and dead letters. */
export const pipelineOverview = () =>
  new DashboardBuilder('Pipeline / Overview')
    .uid('pipeline-overview')
    .tags(['pipeline'])
    .refresh('10s')
    .time({ from: 'now-1h', to: 'now' })
    .withVariable(datasourceVariable())
    .withRow(new RowBuilder('Health'))
    .withPanel(stat('Worst consumer lag', 's', { expr: 'max(kafka_consumergroup_group_max_lag_seconds{kind!="rebuild"})' }, 60, 300))
    .withPanel(stat('Stalest view', 's', { expr: 'max(pipeline_view_freshness_seconds)' }, 5, 60, 'now − newest journal time applied to any view.'))
    .withPanel(stat('Groups not OK', 'short', { expr: 'count(pipeline_consumer_status_code{kind!="rebuild"} > 1) or vector(0)' }, 1, 1))
    .withPanel(
      stat(
        'Dead letters / min',
        'short',
        {
          expr: `(sum(rate(consumer_events_total{outcome="dead_lettered"}[${R}])) or vector(0)) * 60 + (sum(rate(cdc_bridge_records_dead_lettered_total[${R}])) or vector(0)) * 60`,
        },
        1,
        100,
      ),
    )
    .withRow(new RowBuilder('Flow'))
    .withPanel(
      timeseries('Events per second per stage', 'ops', [
        { expr: `sum(rate(cdc_bridge_records_read_total[${R}]))`, legend: 'bridge read' },
        { expr: `sum(rate(cdc_bridge_records_relayed_total[${R}]))`, legend: 'bridge relayed' },
        { expr: `sum by (topic) (rate(kafka_partition_latest_offset[${R}]))`, legend: 'topic {{topic}}' },
        { expr: `sum by (group) (rate(consumer_events_total{outcome="applied"}[${R}]))`, legend: 'applied {{group}}' },
      ]),
    )
    .withPanel(
      timeseries('End-to-end latency p50 / p99 per view', 's', [
        { expr: `histogram_quantile(0.5, sum by (view, le) (rate(pipeline_e2e_latency_seconds_bucket[${R}])))`, legend: 'p50 {{view}}' },
        { expr: `histogram_quantile(0.99, sum by (view, le) (rate(pipeline_e2e_latency_seconds_bucket[${R}])))`, legend: 'p99 {{view}}' },
      ], 'Journal written_at → view commit of each applied event, observed by the consumers.'),
    )
    .withPanel(
      timeseries('End-to-end canary', 's', [
        { expr: `histogram_quantile(0.99, sum by (group, le) (rate(pipeline_canary_latency_seconds_bucket[${R}])))`, legend: 'p99 journal → {{group}}' },
        { expr: 'max by (view) (pipeline_view_canary_age_seconds)', legend: 'age at {{view}}' },
      ], 'A heartbeat written to the journal every CANARY_INTERVAL_MS, relayed and applied like any event: its latency per group, and the age of the newest one each view has — which grows when any stage stops (alert CanaryMissing).'),
    )
    .withPanel(
      timeseries('View staleness', 's', [
        { expr: 'max by (view) (pipeline_view_freshness_seconds)', legend: '{{view}}' },
      ], 'now − newest journal time the view has caught up to (applied event or canary heartbeat; view_freshness, read by the lag monitor): grows when any stage stops.'),
    )
    .withPanel(
      timeseries('Error rate per group', 'percentunit', [
        {
          expr: `sum by (group) (rate(consumer_errors_total[${R}])) / sum by (group) (rate(consumer_events_total[${R}]))`,
          legend: '{{group}}',
        },
        {
          expr: `sum(rate(http_requests_total{status=~"5.."}[${R}])) / sum(rate(http_requests_total[${R}]))`,
          legend: 'API 5xx',
        },
      ]),
    )
    .withPanel(
      timeseries('Dead letters per minute', 'short', [
        { expr: `sum by (group) (rate(consumer_events_total{outcome="dead_lettered"}[${R}])) * 60`, legend: '{{group}}' },
        { expr: `sum(rate(cdc_bridge_records_dead_lettered_total[${R}])) * 60`, legend: 'bridge' },
      ]),
    )
    .withPanel(
      timeseries('Duplicates and repaired gaps', 'ops', [
        { expr: `sum by (group, outcome) (rate(consumer_events_total{outcome=~"duplicate|gap_repaired"}[${R}]))`, legend: '{{group}} {{outcome}}' },
      ]),
    )
    .withPanel(
      timeseries('Consumer lag seconds per group', 's', [{ expr: 'kafka_consumergroup_group_max_lag_seconds', legend: '{{group}}' }]),
    );
