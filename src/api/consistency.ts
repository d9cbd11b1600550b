import type { LagSnapshot } from './lag-schema.js';

/** Seed 000 §9.4: UP_TO_DATE ≤ 1 s < SLIGHTLY_STALE ≤ 5 s < STALE (bounds configurable). */
export type ConsistencyStatus = 'UP_TO_DATE' | 'SLIGHTLY_STALE' | 'STALE';
export const CONSISTENCY_STATUSES = ['UP_TO_DATE', 'SLIGHTLY_STALE', 'STALE'] as const;

export interface StalenessThresholds {
  /** lag ≤ this → UP_TO_DATE. */
  upToDateMs: number;
  /** lag ≤ this → SLIGHTLY_STALE; above → STALE. */
  slightlyStaleMs: number;
}

/**
 * An unknown lag is never reported as fresh: null → STALE. A lag on a basis
 * that cannot see the bridge (anything but `canary`) is never UP_TO_DATE: a
 * stopped bridge leaves the groups caught up with a topic that no longer grows.
 */
export function consistencyStatus(lagMs: number | null, t: StalenessThresholds, basis: LagBasis = 'canary'): ConsistencyStatus {
  if (lagMs === null) return 'STALE';
  if (lagMs <= t.upToDateMs) return basis === 'canary' ? 'UP_TO_DATE' : 'SLIGHTLY_STALE';
  if (lagMs <= t.slightlyStaleMs) return 'SLIGHTLY_STALE';
  return 'STALE';
}

/**
 * How the lag was estimated:
 * - `canary`: from the end-to-end canary (the newest heartbeat from the journal the view's group
 *   applied) — sees every stage, the bridge included — combined with the consumer lag when known;
 * - `consumer-lag`: the lag monitor knows whether the view's consumer group has unconsumed records
 *   (blind to a bridge that stopped relaying);
 * - `last-applied`: no (recent) lag snapshot in this process: only the delay of the last applied change is known;
 * - `unknown`: nothing applied and no lag snapshot.
 */
export type LagBasis = 'canary' | 'consumer-lag' | 'last-applied' | 'unknown';
export const LAG_BASES = ['canary', 'consumer-lag', 'last-applied', 'unknown'] as const;

/** What the lag monitor says about one consumer group: 0 = caught up; null = behind by an unknown time. */
export interface GroupBehind {
  behindMs: number | null;
  /** The oldest unconsumed record's age when the snapshot was taken (behindMs without the snapshot's own age). */
  atSnapshotMs?: number;
}

/**
 * With the canary running, a group behind by records younger than this at
 * snapshot time was only showing records in flight (a heartbeat between its
 * Kafka commit and the view's apply): the canary judges those, and the
 * snapshot's age is not added to them — added, it read an idle pipeline as
 * SLIGHTLY_STALE whenever a poll caught a heartbeat in flight, until the next
 * poll. A record older than this at snapshot time keeps ageing with the
 * snapshot, as without the canary.
 */
export const IN_FLIGHT_MS = 1000;

/** A snapshot older than this says nothing about the present (the monitor stopped polling). */
export const MAX_SNAPSHOT_AGE_MS = 30_000;

/**
 * How far `groupId` is behind the log end, from the lag monitor's snapshot;
 * undefined when there is no usable snapshot or it does not know the group.
 *
 * Per partition it prefers the offsets the group stores in PostgreSQL with its
 * view rows (exactly what the view contains) over the Kafka-committed ones.
 * When the group is behind, the snapshot's age is added: records that were
 * unconsumed at the poll have waited that much longer since.
 */
export function groupBehind(
  snapshot: LagSnapshot | undefined,
  groupId: string,
  now: number,
  maxSnapshotAgeMs = MAX_SNAPSHOT_AGE_MS,
): GroupBehind | undefined {
  if (!snapshot?.polledAt) return undefined;
  const polledAt = Date.parse(snapshot.polledAt);
  if (!Number.isFinite(polledAt)) return undefined;
  const age = Math.max(0, now - polledAt);
  if (age > maxSnapshotAgeMs) return undefined;
  const group = snapshot.groups.find((g) => g.group === groupId);
  if (!group) return undefined;
  let behind = false;
  let ageUnknown = false;
  let maxSeconds = 0;
  for (const topic of group.topics) {
    for (const p of topic.partitions) {
      const lag = p.stored ? p.stored.lag : p.lag;
      const seconds = p.stored ? p.stored.lagSeconds : p.lagSeconds;
      if (lag === null || lag <= 0) continue;
      behind = true;
      if (seconds === null) ageUnknown = true;
      else maxSeconds = Math.max(maxSeconds, seconds);
    }
  }
  if (!behind) return { behindMs: 0 };
  if (maxSeconds > 0) return { behindMs: maxSeconds * 1000 + age, atSnapshotMs: maxSeconds * 1000 };
  return ageUnknown ? { behindMs: null } : { behindMs: age };
}

export interface LagEstimate {
  lagMs: number | null;
  basis: LagBasis;
}

/**
 * `lagSeconds` of an answer: an estimate of how far behind the journal it may be.
 *
 *   applyDelay = appliedAt − appliedSourceTime
 *       how long the newest change in this answer took from the journal
 *       (`written_at`) to the view's commit — seed 000 §9.4's
 *       `updateTime − eventTime`, with the journal time instead of the
 *       command's clock. For one inventory: updated_at − last_source_written_at;
 *       for a view: view_freshness.last_commit_time − last_source_time.
 *   pending = what the consumer group has not applied yet:
 *       0                            group caught up (lag monitor: no unconsumed records)
 *       group lag seconds            group behind: age of its oldest unconsumed record (+ snapshot age)
 *       now − view.last_source_time  group behind, age unknown: everything after the view's newest
 *                                    applied journal time may be missing
 *       0, basis `last-applied`      no lag monitor in this process: cannot tell idle from stopped
 *
 *   lagSeconds = max(applyDelay, pending)
 *
 * With the canary running, pending also includes how overdue the view's
 * newest heartbeat is (now − its journal time − the interval): that sees a
 * bridge that stopped, which the consumer lag cannot (basis `canary`).
 *
 * Deliberately NOT `now − last_source_written_at` of the row: an inventory
 * that nobody touched for a day is not a day stale if its group is caught up.
 * Clock skew between the journal writer and PostgreSQL is clamped at 0.
 */
export function estimateLag(input: {
  appliedSourceTime: Date | null | undefined;
  appliedAt: Date | null | undefined;
  viewLastSourceTime: Date | null | undefined;
  behind: GroupBehind | undefined;
  now: number;
  /**
   * The end-to-end canary, when it runs (CANARY_INTERVAL_MS > 0): the journal time of the newest
   * heartbeat the view's group applied (null: none yet), and the interval it is written at.
   */
  canary?: { lastTime: Date | null | undefined; intervalMs: number } | undefined;
}): LagEstimate {
  const { appliedSourceTime, appliedAt, viewLastSourceTime, behind, now, canary } = input;
  const applyDelay = appliedSourceTime && appliedAt ? Math.max(0, appliedAt.getTime() - appliedSourceTime.getTime()) : null;
  if (canary) {
    // Everything written to the journal before the newest applied heartbeat is in the view; the next
    // heartbeat is due one interval later. Overdue by x ms: the view misses at least x ms of the journal.
    if (!canary.lastTime) return { lagMs: null, basis: 'canary' };
    const overdue = Math.max(0, now - canary.lastTime.getTime() - canary.intervalMs);
    let pending = 0;
    if (behind && behind.behindMs !== null) {
      pending = behind.atSnapshotMs !== undefined && behind.atSnapshotMs < IN_FLIGHT_MS ? behind.atSnapshotMs : behind.behindMs;
    } else if (behind && viewLastSourceTime) pending = Math.max(0, now - viewLastSourceTime.getTime());
    // Not the apply delay of the newest change: how late that change was applied says nothing about what
    // the view misses now, which is all the canary measures.
    return { lagMs: Math.max(overdue, pending), basis: 'canary' };
  }
  if (behind === undefined) return applyDelay === null ? { lagMs: null, basis: 'unknown' } : { lagMs: applyDelay, basis: 'last-applied' };
  let pending: number | null;
  if (behind.behindMs !== null) pending = behind.behindMs;
  else pending = viewLastSourceTime ? Math.max(0, now - viewLastSourceTime.getTime()) : null;
  if (pending === null) return { lagMs: null, basis: 'consumer-lag' };
  return { lagMs: Math.max(applyDelay ?? 0, pending), basis: 'consumer-lag' };
}

/** Milliseconds → seconds with millisecond precision (null stays null). */
export const toSeconds = (ms: number | null): number | null => (ms === null ? null : Math.round(ms) / 1000);
