import { groupKind, type GroupKind } from '../shared/group-names.js';
import { evaluateGroup, type ConsumerStatus, type LabelledPartitionStatus, type StatusReason } from './burrow.js';
import type { LagSecondsMethod } from './lag-calc.js';
import type { ViewFreshnessRow } from '../db/view-freshness.js';

/**
 * The JSON the lag monitor publishes after each poll (`GET /lag`). Plain data:
 * safe to serialise, numbers not bigints (offsets stay far below 2^53).
 */
export interface LagSnapshot {
  clusterName: string;
  /** ISO time of the poll; null before the first one. */
  polledAt: string | null;
  pollDurationMs: number;
  groups: GroupLag[];
  topics: TopicEnds[];
  views: ViewFreshness[];
  /** Problems of the last poll (a group or topic that could not be read). */
  errors: string[];
}

export interface TopicEnds {
  topic: string;
  /** Topic `retention.ms`; null when unlimited or not readable. */
  retentionMs: number | null;
  partitions: { partition: number; earliest: number; latest: number }[];
}

export interface StatusJson {
  status: ConsumerStatus;
  /** What Burrow would report for the group (STOP/STALL/REWIND → ERR). */
  burrowStatus: ConsumerStatus;
  reason: StatusReason;
  detail: string;
  complete: number;
}

/**
 * Where a group's lag and status come from. 'postgres': the group stores its
 * offsets in `consumer_offsets` with its view rows (the pipeline's own
 * groups), so those are where it stands and Kafka's committed offsets are
 * only a copy for standard tooling — advisory, never paged on. 'kafka': a
 * group that stores nothing here (any other client of the topic).
 */
export type OffsetSource = 'postgres' | 'kafka';

export interface GroupLag {
  group: string;
  /**
   * 'live': a consumer the pipeline depends on; 'rebuild': a rebuild's
   * catch-up group (`<live>.rebuild`), shown for its progress and never
   * alerted on (alert rules filter `kind!="rebuild"`); 'internal' only when
   * named explicitly in the monitor's group list.
   */
  kind: GroupKind;
  /** Kafka group state (Stable, Empty, Dead, ...) or 'Unknown' for groups known only from PostgreSQL. */
  state: string;
  members: number;
  /** No group protocol: offsets committed by a client that manages its own assignment. */
  isSimpleConsumer: boolean;
  offsetSource: OffsetSource;
  /** From {@link offsetSource}'s offsets, as every lag figure of the group. */
  maxLag: number;
  maxLagSeconds: number;
  sumLag: number;
  /** Burrow-style status from {@link offsetSource}'s offsets; null without partitions. */
  status: StatusJson | null;
  /** Advisory, for a 'postgres' group: the status Kafka's committed offsets alone would give (what Burrow or kminion see); null otherwise. */
  kafkaStatus: StatusJson | null;
  topics: GroupTopicLag[];
}

export interface GroupTopicLag {
  topic: string;
  sumLag: number;
  maxLagSeconds: number;
  /** maxLagSeconds ÷ topic retention: at 1 the oldest unconsumed record is being deleted. Null without a retention limit. */
  retentionRisk: number | null;
  partitions: PartitionLag[];
}

export interface PartitionLag {
  partition: number;
  logStartOffset: number;
  logEndOffset: number;
  /**
   * Where the group stands, which `lag`, `lagSeconds` and `status` are
   * computed from: for a 'postgres' group the stored offset, or the log start
   * when it stores none for this partition (it reads the partition from there);
   * for a 'kafka' group the committed offset.
   */
  offset: number;
  /** Kafka-committed offset; null when the group committed none for this partition. */
  committedOffset: number | null;
  lag: number;
  lagSeconds: number;
  lagSecondsMethod: LagSecondsMethod;
  status: ConsumerStatus;
  reason: StatusReason;
  /** Advisory, for a 'postgres' group with a Kafka commit: lag and status from `committedOffset`. */
  kafka: KafkaPartitionLag | null;
  stored: StoredPartitionLag | null;
  /**
   * Why the group's consumer stopped this partition (its stored offset does
   * not fit the topic: another topic incarnation, beyond the log end, below
   * the log start); null while it reads. A blocked partition is STOP with
   * reason `offset_blocked`, whatever its lag says.
   */
  blocked: string | null;
}

export interface KafkaPartitionLag {
  lag: number;
  lagSeconds: number;
  lagSecondsMethod: LagSecondsMethod;
  status: ConsumerStatus;
  reason: StatusReason;
}

export interface StoredPartitionLag {
  offset: number;
  updatedAt: string;
  lag: number;
  lagSeconds: number;
  /** Kafka-committed and PostgreSQL offsets differ for longer than the grace period. */
  disagree: boolean;
}

export interface ViewFreshness {
  view: string;
  group: string | null;
  lastSourceTime: string | null;
  lastCommitTime: string | null;
  /**
   * now − the newest journal time the view is known to have caught up to: the newest applied event or
   * end-to-end canary heartbeat, whichever is later (the canary moves it while the pipeline is idle and
   * stops moving it when any stage stops); null when the view has applied neither yet.
   */
  freshnessSeconds: number | null;
  /** now − the newest canary heartbeat's journal time; null when no canary reached the view. */
  canaryAgeSeconds?: number | null;
}

export const emptySnapshot = (clusterName: string): LagSnapshot => ({
  clusterName,
  polledAt: null,
  pollDurationMs: 0,
  groups: [],
  topics: [],
  views: [],
  errors: [],
});

// Code-unit order: stable and cheap (localeCompare goes through ICU on every call).
export const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** One group's entry of the snapshot from its partitions and Burrow evaluations (lag figures from `offset`). */
export function groupLag(
  name: string,
  retentionMs: ReadonlyMap<string, number>,
  reading: Pick<GroupLag, 'state' | 'members' | 'isSimpleConsumer'> | undefined,
  offsetSource: OffsetSource,
  partitions: (PartitionLag & { topic: string })[],
  statuses: LabelledPartitionStatus[],
  kafkaStatuses: LabelledPartitionStatus[],
): GroupLag {
  const byTopic = new Map<string, GroupTopicLag>();
  let maxLag = 0;
  let maxLagSeconds = 0;
  let sumLag = 0;
  for (const { topic, ...p } of partitions.sort((a, b) => byString(a.topic, b.topic) || a.partition - b.partition)) {
    let t = byTopic.get(topic);
    if (!t) byTopic.set(topic, (t = { topic, sumLag: 0, maxLagSeconds: 0, retentionRisk: null, partitions: [] }));
    t.partitions.push(p);
    t.sumLag += p.lag;
    t.maxLagSeconds = Math.max(t.maxLagSeconds, p.lagSeconds);
    sumLag += p.lag;
    maxLag = Math.max(maxLag, p.lag);
    maxLagSeconds = Math.max(maxLagSeconds, p.lagSeconds);
  }
  for (const t of byTopic.values()) {
    const retention = retentionMs.get(t.topic);
    if (retention !== undefined && retention > 0) t.retentionRisk = (t.maxLagSeconds * 1000) / retention;
  }
  return {
    group: name,
    kind: groupKind(name),
    state: reading?.state ?? 'Unknown',
    members: reading?.members ?? 0,
    isSimpleConsumer: reading?.isSimpleConsumer ?? false,
    offsetSource,
    maxLag,
    maxLagSeconds,
    sumLag,
    status: statusJson(statuses),
    kafkaStatus: offsetSource === 'postgres' ? statusJson(kafkaStatuses) : null,
    topics: [...byTopic.values()],
  };
}

function statusJson(statuses: LabelledPartitionStatus[]): StatusJson | null {
  if (statuses.length === 0) return null;
  const g = evaluateGroup(statuses);
  return { status: g.status, burrowStatus: g.burrowStatus, reason: g.reason, detail: g.detail, complete: g.complete };
}

export function viewFreshness(v: ViewFreshnessRow, nowMs: number): ViewFreshness {
  const canaryMs = v.lastCanaryTime?.getTime() ?? null;
  const times = [v.lastSourceTime?.getTime() ?? null, canaryMs].filter((t): t is number => t !== null);
  const newest = times.length > 0 ? Math.max(...times) : null;
  return {
    view: v.viewName,
    group: v.groupId,
    lastSourceTime: v.lastSourceTime?.toISOString() ?? null,
    lastCommitTime: v.lastCommitTime.toISOString(),
    freshnessSeconds: newest === null ? null : Math.max(0, (nowMs - newest) / 1000),
    canaryAgeSeconds: canaryMs === null ? null : Math.max(0, (nowMs - canaryMs) / 1000),
  };
}
