import { groupKind } from '../shared/group-names.js';
import { Counter, Gauge, type Registry } from 'prom-client';
import { STATUS_CODE } from './burrow.js';
import type { LagSnapshot, StatusJson } from './lag-snapshot.js';

/**
 * The lag monitor's Prometheus metrics. The kafka_* names and labels are
 * kafka-lag-exporter's, so SREs' existing dashboards and alerts work
 * unchanged (member labels are left out: they multiply series on every
 * rebalance). pipeline_* are ours.
 *
 * Every lag and status series carries the truth (GroupLag.offsetSource): for
 * a group that stores its offsets in PostgreSQL the stored offsets, for any
 * other group Kafka's committed ones; `pipeline_consumer_status{source}` says
 * which. Kafka's committed view of a storing group is advisory and has its
 * own names (`pipeline_consumer_kafka_*`) that no alert pages on, next to the
 * disagreement between the two (`pipeline_consumer_offsets_disagree`,
 * `..._offsets_difference`). Every gauge is rebuilt from the snapshot
 * after each poll, so partitions and groups that disappear stop being
 * exported instead of freezing at their last value. Every per-group series
 * carries `kind` ("live" or "rebuild", see GroupLag.kind): alert rules and
 * dashboards select `kind!="rebuild"` so that a rebuild replaying the topic
 * from its start never pages anyone.
 */
export interface LagMetrics {
  publish(snapshot: LagSnapshot): void;
  pollFailed(): void;
}

export function createLagMetrics(registry: Registry): LagMetrics {
  const gauge = (name: string, help: string, labelNames: string[]) =>
    new Gauge({ name, help, labelNames, registers: [registry] });
  const partitionLabels = ['cluster_name', 'group', 'kind', 'topic', 'partition'];
  const groupLabels = ['cluster_name', 'group', 'kind', 'is_simple_consumer'];

  const m = {
    offset: gauge(
      'kafka_consumergroup_group_offset',
      'Where the group stands on the partition: the offset stored in PostgreSQL for groups that store offsets, else the Kafka-committed offset.',
      partitionLabels,
    ),
    lag: gauge('kafka_consumergroup_group_lag', 'Records between the group\'s offset (see _group_offset) and the log end (transaction markers not counted).', partitionLabels),
    lagSeconds: gauge('kafka_consumergroup_group_lag_seconds', 'Age of the first unconsumed record, in seconds (exact or interpolated).', partitionLabels),
    maxLag: gauge('kafka_consumergroup_group_max_lag', 'Highest partition lag of the group, in records.', groupLabels),
    maxLagSeconds: gauge('kafka_consumergroup_group_max_lag_seconds', 'Highest partition lag of the group, in seconds.', groupLabels),
    sumLag: gauge('kafka_consumergroup_group_sum_lag', 'Sum of the partition lags of the group.', ['cluster_name', 'group', 'kind']),
    topicSumLag: gauge('kafka_consumergroup_group_topic_sum_lag', 'Sum of the partition lags of the group in one topic.', ['cluster_name', 'group', 'kind', 'topic']),
    latest: gauge('kafka_partition_latest_offset', 'Log-end offset (high watermark) of the partition.', ['cluster_name', 'topic', 'partition']),
    earliest: gauge('kafka_partition_earliest_offset', 'Log-start offset of the partition.', ['cluster_name', 'topic', 'partition']),
    pollTime: gauge('kafka_consumergroup_poll_time_ms', 'Time the last poll of all groups took, in ms.', ['cluster_name']),
    retention: gauge('pipeline_topic_retention_seconds', 'Time retention of the topic (retention.ms); absent when unlimited.', ['cluster_name', 'topic']),
    retentionRisk: gauge(
      'pipeline_consumer_retention_risk_ratio',
      'Max lag seconds of the group on the topic ÷ topic retention: at 1 unconsumed records are being deleted.',
      ['cluster_name', 'group', 'kind', 'topic'],
    ),
    members: gauge('pipeline_consumer_group_members', 'Members of the consumer group.', ['cluster_name', 'group', 'kind', 'state']),
    status: gauge(
      'pipeline_consumer_status',
      'Burrow-style status of the group (1 for the current status/reason), from the offsets that are its truth: source=postgres (stored with the views) or kafka (committed to Kafka, groups that store none).',
      ['cluster_name', 'group', 'kind', 'source', 'status', 'reason'],
    ),
    statusCode: gauge(
      'pipeline_consumer_status_code',
      "Burrow's status constant of the group: 1 OK, 2 WARN, 3 ERR, 4 STOP, 5 STALL, 6 REWIND.",
      ['cluster_name', 'group', 'kind', 'source'],
    ),
    storedOffset: gauge('pipeline_consumer_stored_offset', 'Next offset to consume as stored in PostgreSQL by the group.', partitionLabels),
    storedLag: gauge('pipeline_consumer_stored_lag', 'Lag in records computed from the offset stored in PostgreSQL.', partitionLabels),
    storedLagSeconds: gauge('pipeline_consumer_stored_lag_seconds', 'Lag in seconds computed from the offset stored in PostgreSQL.', partitionLabels),
    blocked: gauge(
      'pipeline_consumer_partition_blocked',
      "1 while the group's consumer keeps the partition stopped because its stored offset does not fit the topic (recreated topic, another cluster, a restore, retention); the reason is in /lag and the consumer's ERROR log.",
      partitionLabels,
    ),
    disagree: gauge(
      'pipeline_consumer_offsets_disagree',
      '1 when the offset stored in PostgreSQL and the Kafka-committed offset have differed for longer than the grace period.',
      partitionLabels,
    ),
    difference: gauge(
      'pipeline_consumer_offsets_difference',
      'Offset stored in PostgreSQL − Kafka-committed offset (records; > 0: Kafka\'s copy trails).',
      partitionLabels,
    ),
    kafkaOffset: gauge('pipeline_consumer_kafka_offset', "Advisory: Kafka-committed offset of a group whose truth is PostgreSQL (what Kafka's own lag tools read).", partitionLabels),
    kafkaLag: gauge('pipeline_consumer_kafka_lag', 'Advisory: lag in records from the Kafka-committed offset of a group whose truth is PostgreSQL.', partitionLabels),
    kafkaLagSeconds: gauge('pipeline_consumer_kafka_lag_seconds', 'Advisory: lag in seconds from the Kafka-committed offset of a group whose truth is PostgreSQL.', partitionLabels),
    kafkaStatus: gauge(
      'pipeline_consumer_kafka_status',
      'Advisory: the Burrow-style status Kafka-committed offsets alone give a group whose truth is PostgreSQL (1 for the current status/reason); never paged on.',
      ['cluster_name', 'group', 'kind', 'status', 'reason'],
    ),
    freshness: gauge(
      'pipeline_view_freshness_seconds',
      'now − the newest journal time the view has caught up to (newest applied event or end-to-end canary heartbeat).',
      ['view'],
    ),
    canaryAge: gauge('pipeline_view_canary_age_seconds', 'now − journal time of the newest end-to-end canary heartbeat applied to the view.', ['view']),
    commitAge: gauge('pipeline_view_commit_age_seconds', 'now − last commit time of the view.', ['view']),
    lastPoll: gauge('pipeline_lag_monitor_last_poll_timestamp_seconds', 'Time of the last successful poll.', ['cluster_name']),
  };
  const pollErrors = new Counter({
    name: 'pipeline_lag_monitor_poll_errors_total',
    help: 'Polls that failed as a whole.',
    registers: [registry],
  });
  const gauges = Object.values(m);

  const setStatus = (cluster: string, group: string, kind: string, source: string, s: StatusJson | null) => {
    if (!s) return;
    m.status.set({ cluster_name: cluster, group, kind, source, status: s.status, reason: s.reason }, 1);
    m.statusCode.set({ cluster_name: cluster, group, kind, source }, STATUS_CODE[s.status]);
  };

  return {
    publish(snap) {
      const c = snap.clusterName;
      for (const g of gauges) g.reset();
      m.pollTime.set({ cluster_name: c }, snap.pollDurationMs);
      if (snap.polledAt) m.lastPoll.set({ cluster_name: c }, Date.parse(snap.polledAt) / 1000);
      for (const t of snap.topics) {
        if (t.retentionMs !== null) m.retention.set({ cluster_name: c, topic: t.topic }, t.retentionMs / 1000);
        for (const p of t.partitions) {
          const labels = { cluster_name: c, topic: t.topic, partition: String(p.partition) };
          m.latest.set(labels, p.latest);
          m.earliest.set(labels, p.earliest);
        }
      }
      for (const g of snap.groups) {
        const simple = String(g.isSimpleConsumer);
        const kind = g.kind;
        m.members.set({ cluster_name: c, group: g.group, kind, state: g.state }, g.members);
        setStatus(c, g.group, kind, g.offsetSource, g.status);
        if (g.kafkaStatus) {
          m.kafkaStatus.set({ cluster_name: c, group: g.group, kind, status: g.kafkaStatus.status, reason: g.kafkaStatus.reason }, 1);
        }
        let hasPartitions = false;
        for (const t of g.topics) {
          for (const p of t.partitions) {
            hasPartitions = true;
            const labels = { cluster_name: c, group: g.group, kind, topic: t.topic, partition: String(p.partition) };
            m.offset.set(labels, p.offset);
            m.lag.set(labels, p.lag);
            m.lagSeconds.set(labels, p.lagSeconds);
            if (p.kafka && p.committedOffset !== null) {
              m.kafkaOffset.set(labels, p.committedOffset);
              m.kafkaLag.set(labels, p.kafka.lag);
              m.kafkaLagSeconds.set(labels, p.kafka.lagSeconds);
            }
            m.blocked.set(labels, p.blocked === null ? 0 : 1);
            if (p.stored) {
              m.storedOffset.set(labels, p.stored.offset);
              m.storedLag.set(labels, p.stored.lag);
              m.storedLagSeconds.set(labels, p.stored.lagSeconds);
              m.disagree.set(labels, p.stored.disagree ? 1 : 0);
              if (p.committedOffset !== null) m.difference.set(labels, p.stored.offset - p.committedOffset);
            }
          }
          if (t.partitions.length > 0) m.topicSumLag.set({ cluster_name: c, group: g.group, kind, topic: t.topic }, t.sumLag);
          if (t.partitions.length > 0 && t.retentionRisk !== null) {
            m.retentionRisk.set({ cluster_name: c, group: g.group, kind, topic: t.topic }, t.retentionRisk);
          }
        }
        if (hasPartitions) {
          m.maxLag.set({ cluster_name: c, group: g.group, kind, is_simple_consumer: simple }, g.maxLag);
          m.maxLagSeconds.set({ cluster_name: c, group: g.group, kind, is_simple_consumer: simple }, g.maxLagSeconds);
          m.sumLag.set({ cluster_name: c, group: g.group, kind }, g.sumLag);
        }
      }
      for (const v of snap.views) {
        // A rebuild's shadow views are not what anyone reads: their freshness would only be noise (and vanish at the swap).
        if (v.group !== null && groupKind(v.group) !== 'live') continue;
        if (v.freshnessSeconds !== null) m.freshness.set({ view: v.view }, v.freshnessSeconds);
        if (v.canaryAgeSeconds !== null && v.canaryAgeSeconds !== undefined) m.canaryAge.set({ view: v.view }, v.canaryAgeSeconds);
        if (v.lastCommitTime !== null && snap.polledAt) {
          m.commitAge.set({ view: v.view }, Math.max(0, (Date.parse(snap.polledAt) - Date.parse(v.lastCommitTime)) / 1000));
        }
      }
    },
    pollFailed() {
      pollErrors.inc();
    },
  };
}
