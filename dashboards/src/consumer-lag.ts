import { DashboardBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { datasourceVariable, labelVariable, stat, table, timeseries } from './panels.js';

const G = 'group=~"$group"';
const R = '$__rate_interval';

/**
 * Consumer lag as SREs read it from kafka-lag-exporter and Burrow: a stat row
 * of the worst numbers, then per group lag in seconds and records per
 * partition, produce vs consume rate, offsets, members and status.
 */
export const consumerLag = () =>
  new DashboardBuilder('Pipeline / Consumer lag')
    .uid('pipeline-consumer-lag')
    .tags(['pipeline', 'kafka', 'lag'])
    .refresh('10s')
    .time({ from: 'now-1h', to: 'now' })
    .withVariable(datasourceVariable())
    .withVariable(labelVariable('group', 'Group', 'kafka_consumergroup_group_max_lag'))
    .withRow(new RowBuilder('Worst of all groups'))
    .withPanel(stat('Worst lag (seconds)', 's', { expr: 'max(kafka_consumergroup_group_max_lag_seconds{kind!="rebuild"})' }, 60, 300))
    .withPanel(stat('Worst lag (records)', 'short', { expr: 'max(kafka_consumergroup_group_max_lag{kind!="rebuild"})' }, 1_000, 10_000))
    .withPanel(
      stat(
        'Groups not OK',
        'short',
        { expr: 'count(pipeline_consumer_status_code{kind!="rebuild"} > 1) or vector(0)' },
        1,
        1,
        'Groups whose Burrow-style status is WARN, STOP, STALL or REWIND (from the offsets stored in PostgreSQL where the group stores them, else Kafka-committed).',
      ),
    )
    .withPanel(stat('Lag monitor poll time', 'ms', { expr: 'max(kafka_consumergroup_poll_time_ms)' }, 50, 500))
    .withRow(new RowBuilder('Lag'))
    .withPanel(
      timeseries('Lag seconds per partition', 's', [
        { expr: `kafka_consumergroup_group_lag_seconds{${G}}`, legend: '{{group}} {{topic}}/{{partition}}' },
      ], 'Age of the first unconsumed record: exact from the record timestamp, interpolated otherwise.'),
    )
    .withPanel(
      timeseries('Lag records per partition', 'short', [
        { expr: `kafka_consumergroup_group_lag{${G}}`, legend: '{{group}} {{topic}}/{{partition}}' },
      ]),
    )
    .withPanel(
      timeseries('Max lag seconds per group', 's', [
        { expr: `kafka_consumergroup_group_max_lag_seconds{${G}}`, legend: '{{group}}' },
      ]),
    )
    .withPanel(
      timeseries('Lag records per group and topic', 'short', [
        { expr: `kafka_consumergroup_group_topic_sum_lag{${G}}`, legend: '{{group}} {{topic}}' },
      ]),
    )
    .withPanel(
      timeseries('Retention risk (lag ÷ topic retention)', 'percentunit', [
        { expr: `pipeline_consumer_retention_risk_ratio{${G}}`, legend: '{{group}} {{topic}}' },
      ], 'At 100 % Kafka deletes records the group has not consumed yet.'),
    )
    .withRow(new RowBuilder('Throughput and offsets'))
    .withPanel(
      timeseries('Produce vs consume rate', 'ops', [
        {
          expr: `sum by (topic) (rate(kafka_partition_latest_offset[${R}])) and on (topic) group by (topic) (kafka_consumergroup_group_offset{${G}})`,
          legend: 'produced {{topic}}',
        },
        { expr: `sum by (group, topic) (rate(kafka_consumergroup_group_offset{${G}}[${R}]))`, legend: 'consumed {{group}} {{topic}}' },
      ]),
    )
    .withPanel(
      timeseries('Log end vs group offset', 'short', [
        {
          expr: `max by (topic, partition) (kafka_partition_latest_offset) and on (topic, partition) group by (topic, partition) (kafka_consumergroup_group_offset{${G}})`,
          legend: 'log end {{topic}}/{{partition}}',
        },
        { expr: `kafka_consumergroup_group_offset{${G}}`, legend: 'offset {{group}} {{topic}}/{{partition}}' },
      ], 'The group offset is the one stored in PostgreSQL for groups that store offsets, else the Kafka-committed one.'),
    )
    .withPanel(
      timeseries('Members', 'short', [{ expr: `sum by (group, state) (pipeline_consumer_group_members{${G}})`, legend: '{{group}} ({{state}})' }]),
    )
    .withPanel(
      timeseries('Status code (1 OK … 6 REWIND)', 'short', [
        { expr: `pipeline_consumer_status_code{${G}}`, legend: '{{group}} ({{source}})' },
      ]),
    )
    .withPanel(
      table(
        'Status and reason',
        [{ expr: `pipeline_consumer_status{${G}} == 1` }],
        'Burrow-style status per group; source = postgres (offsets stored with the views) or kafka (groups that store none).',
      ),
    )
    .withRow(new RowBuilder("Kafka's committed offsets (advisory)"))
    .withPanel(
      timeseries('Lag from Kafka-committed offsets', 'short', [
        { expr: `sum by (group, topic) (pipeline_consumer_kafka_lag{${G}})`, legend: '{{group}} {{topic}}' },
      ], 'What kminion, Burrow or Redpanda Console see for groups that store offsets in PostgreSQL. Never paged on: the lag above is the truth.'),
    )
    .withPanel(
      timeseries('Stored − Kafka-committed offset', 'short', [
        { expr: `sum by (group, topic) (pipeline_consumer_offsets_difference{${G}})`, legend: '{{group}} {{topic}}' },
      ], "Records Kafka's copy trails PostgreSQL by (the runner syncs it after each batch, each assignment and every 10 s)."),
    )
    .withPanel(
      timeseries('Stored vs Kafka-committed disagreement', 'short', [
        { expr: `sum by (group) (pipeline_consumer_offsets_disagree{${G}})`, legend: '{{group}}' },
      ], 'Partitions whose PostgreSQL offset and Kafka-committed offset differ beyond the grace period.'),
    )
    .withRow(new RowBuilder('Processing'))
    .withPanel(
      timeseries('Events by outcome', 'ops', [
        { expr: `sum by (group, outcome) (rate(consumer_events_total{${G}}[${R}]))`, legend: '{{group}} {{outcome}}' },
      ]),
    )
    .withPanel(
      timeseries('Batch duration p50 / p99', 's', [
        { expr: `histogram_quantile(0.5, sum by (group, le) (rate(consumer_batch_duration_seconds_bucket{${G}}[${R}])))`, legend: 'p50 {{group}}' },
        { expr: `histogram_quantile(0.99, sum by (group, le) (rate(consumer_batch_duration_seconds_bucket{${G}}[${R}])))`, legend: 'p99 {{group}}' },
      ]),
    )
    .withPanel(
      timeseries('Errors and parked ids', 'short', [
        { expr: `sum by (group) (rate(consumer_errors_total{${G}}[${R}]))`, legend: 'errors/s {{group}}' },
        { expr: `sum by (group) (consumer_parked_ids{${G}})`, legend: 'parked {{group}}' },
      ]),
    );
