import type { ConsumerStatus, StatusReason } from './burrow.js';
import type { LagSecondsMethod } from './lag-calc.js';

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

export interface GroupLag {
  group: string;
  /** Kafka group state (Stable, Empty, Dead, ...) or 'Unknown' for groups known only from PostgreSQL. */
  state: string;
  members: number;
  /** No group protocol: offsets committed by a client that manages its own assignment. */
  isSimpleConsumer: boolean;
  maxLag: number;
  maxLagSeconds: number;
  sumLag: number;
  /** Status from the Kafka-committed offsets (absent when the group commits nothing to Kafka). */
  status: StatusJson | null;
  /** Status from the offsets stored in PostgreSQL (absent when the group stores none). */
  storedStatus: StatusJson | null;
  topics: GroupTopicLag[];
}

export interface GroupTopicLag {
  topic: string;
  sumLag: number;
  partitions: PartitionLag[];
}

export interface PartitionLag {
  partition: number;
  logStartOffset: number;
  logEndOffset: number;
  /** Kafka-committed offset; null when the group committed none for this partition. */
  committedOffset: number | null;
  lag: number | null;
  lagSeconds: number | null;
  lagSecondsMethod: LagSecondsMethod | null;
  status: ConsumerStatus | null;
  reason: StatusReason | null;
  stored: StoredPartitionLag | null;
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
  /** now − newest applied source time; null when the view has applied nothing yet. */
  freshnessSeconds: number | null;
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
