/**
 * Consumer status in Burrow's vocabulary, evaluated with Burrow's rules
 * (linkedin/Burrow core/internal/evaluator/caching.go) over a sliding window of
 * commits per partition. Pure: no clock, no I/O — the caller passes `nowMs`.
 *
 * Partition rules, in Burrow's order, applied only when the current lag is
 * above `allowedLag` and the window holds enough data (below):
 *  - STOP:   the time since the last commit is longer than the window's span
 *            (last − first commit), unless a recent log-end sample shows the
 *            consumer was caught up (Burrow's "recent lag zero" grace).
 *  - REWIND: a commit went backwards and has not reached the old offset again.
 *  - if lag was at or below `allowedLag` at any commit in the window → OK.
 *  - STALL:  every commit in the window carries the same offset.
 *  - WARN:   offsets move but the lag never decreases across the window.
 *
 * Enough data: these rules compare a partition with its own recent past, so
 * they need a window. A window of one commit has no span, and Burrow's STOP
 * rule then fires on any lag at all (`cli status` said "STOP: no commit for
 * 1 s with lag 8" on a healthy pipeline, issue 27). So a lagging partition is
 * judged once its window is `minimumComplete` full, or once it has been
 * observed for `intervals` polls (a consumer that committed would have filled
 * the window by then, so too few commits are themselves the evidence); before
 * that the answer is OK with reason `incomplete_window` — "not enough data",
 * never a verdict. STALL and WARN compare commits and need two of them.
 * Caught up (lag ≤ `allowedLag`) needs no window. Burrow's own
 * `minimum-complete` defaults to 0; ours to 1.
 *
 * A group's status is its worst partition's. Burrow itself reports ERR at
 * group level when a partition is STOP, STALL or REWIND; we keep the specific
 * partition status as `status` (alerts name it) and give Burrow's group value
 * as `burrowStatus`.
 */

export type ConsumerStatus = 'OK' | 'WARN' | 'ERR' | 'STOP' | 'STALL' | 'REWIND';

/** Burrow's StatusConstant values, so that "worse" is a comparison. */
export const STATUS_CODE: Readonly<Record<ConsumerStatus, number>> = {
  OK: 1,
  WARN: 2,
  ERR: 3,
  STOP: 4,
  STALL: 5,
  REWIND: 6,
};

/**
 * Fixed vocabulary for the `reason` label: bounded cardinality, stable for
 * alert routing. Human detail goes into {@link PartitionStatus.detail}.
 */
export type StatusReason =
  | 'no_commits'
  | 'incomplete_window'
  | 'caught_up'
  | 'lag_was_zero_in_window'
  | 'lag_decreasing'
  | 'commits_stopped'
  | 'offset_rewound'
  | 'offset_not_advancing'
  | 'lag_not_decreasing'
  /** The group's consumer stopped the partition: its stored offset does not fit the topic (consumers/offset-witness.ts). */
  | 'offset_blocked';

export interface CommitSample {
  offset: number;
  timestampMs: number;
  /** Lag when the commit was observed (log end − offset, ≥ 0); null when unknown (Burrow: backfilled commit). */
  lag: number | null;
}

export interface BurrowSettings {
  /** Commits kept per partition (Burrow `intervals`, default 10). */
  intervals: number;
  /** Commits closer than this to the previous one replace it (Burrow `min-distance`). */
  minDistanceMs: number;
  /** Lag at or below this counts as caught up (Burrow `allowed-lag`, default 0). */
  allowedLag: number;
  /** Share of a full window needed before the window rules apply (Burrow `minimum-complete`, 0 there; see above). */
  minimumComplete: number;
}

export const defaultBurrowSettings: BurrowSettings = {
  intervals: 10,
  minDistanceMs: 1_000,
  allowedLag: 0,
  minimumComplete: 1,
};

/**
 * Adds a commit to a partition's window (oldest first) and returns the new
 * window; the input is not modified. Like Burrow, a commit closer than
 * `minDistanceMs` to the previous one overwrites it but keeps the earlier
 * timestamp, so that frequent committers still fill the window over time.
 */
export function recordCommit(
  window: readonly CommitSample[],
  commit: CommitSample,
  settings: Pick<BurrowSettings, 'intervals' | 'minDistanceMs'>,
): CommitSample[] {
  const last = window[window.length - 1];
  if (last && commit.timestampMs < last.timestampMs) return window.slice(); // out of order: dropped
  if (last && commit.timestampMs - last.timestampMs < settings.minDistanceMs) {
    return [...window.slice(0, -1), { ...commit, timestampMs: last.timestampMs }];
  }
  const next = [...window, commit];
  return next.length > settings.intervals ? next.slice(next.length - settings.intervals) : next;
}

export interface PartitionStatus {
  status: ConsumerStatus;
  reason: StatusReason;
  detail: string;
  /** Share of the window filled (Burrow `complete`). */
  complete: number;
  currentLag: number;
}

export interface PartitionInput {
  commits: readonly CommitSample[];
  /** Recent log-end offsets of the partition (Burrow's broker offsets ring). */
  logEndOffsets: readonly number[];
  currentLag: number;
  nowMs: number;
  /**
   * Polls that have seen this partition since its window began (the monitor
   * counts them). Absent: only the commits decide whether there is enough data.
   */
  observations?: number;
  /**
   * Lag measured at recent polls (transaction markers excluded). Lag 0 at one
   * of them is Burrow's "recently caught up" grace like a log-end sample at or
   * below the last commit: on a transactional topic a caught-up consumer sits
   * one commit marker below the log end, which the log-end samples cannot tell.
   */
  recentLags?: readonly number[];
}

export function evaluatePartition(input: PartitionInput, settings: BurrowSettings): PartitionStatus {
  const { commits, currentLag } = input;
  const complete = Math.min(1, commits.length / settings.intervals);
  const base = { complete, currentLag };
  if (commits.length === 0) return { ...base, status: 'OK', reason: 'no_commits', detail: 'no commits observed yet' };
  if (currentLag <= settings.allowedLag) {
    return { ...base, status: 'OK', reason: 'caught_up', detail: `lag ${currentLag}` };
  }
  const observations = input.observations ?? 0;
  if (complete < settings.minimumComplete && observations < settings.intervals) {
    return {
      ...base,
      status: 'OK',
      reason: 'incomplete_window',
      detail: `not enough data: lag ${currentLag}, ${commits.length} of ${settings.intervals} commits in the window` +
        (input.observations === undefined ? '' : ` over ${observations} poll(s)`),
    };
  }
  const first = commits[0] as CommitSample;
  const last = commits[commits.length - 1] as CommitSample;

  // Rule 3 first, as Burrow does: a stopped consumer is a problem even if it
  // was caught up at some point of an old window.
  const sinceLast = input.nowMs - last.timestampMs;
  if (
    sinceLast > last.timestampMs - first.timestampMs &&
    !recentLagZero(last.offset, input.logEndOffsets) &&
    !(input.recentLags ?? []).some((lag) => lag <= settings.allowedLag)
  ) {
    return {
      ...base,
      status: 'STOP',
      reason: 'commits_stopped',
      detail: `no commit for ${Math.round(sinceLast / 1000)} s with lag ${currentLag}`,
    };
  }
  const rewindAt = rewindIndex(commits);
  if (rewindAt > 0 && !rewindRecovered(commits, rewindAt)) {
    const before = (commits[rewindAt - 1] as CommitSample).offset;
    const after = (commits[rewindAt] as CommitSample).offset;
    return { ...base, status: 'REWIND', reason: 'offset_rewound', detail: `offset went back from ${before} to ${after}` };
  }
  if (commits.some((c) => c.lag !== null && c.lag <= settings.allowedLag)) {
    return { ...base, status: 'OK', reason: 'lag_was_zero_in_window', detail: `lag ${currentLag}, caught up within window` };
  }
  if (commits.length < 2) {
    // Observed long enough for STOP, but one commit cannot show a stall or a trend.
    return { ...base, status: 'OK', reason: 'incomplete_window', detail: `not enough data: lag ${currentLag}, 1 commit in the window` };
  }
  if (commits.every((c) => c.offset === first.offset)) {
    return {
      ...base,
      status: 'STALL',
      reason: 'offset_not_advancing',
      detail: `${commits.length} commits at offset ${first.offset} with lag ${currentLag}`,
    };
  }
  if (lagNeverDecreases(commits)) {
    return {
      ...base,
      status: 'WARN',
      reason: 'lag_not_decreasing',
      detail: `lag ${currentLag} not decreasing over ${commits.length} commits`,
    };
  }
  return { ...base, status: 'OK', reason: 'lag_decreasing', detail: `lag ${currentLag}, decreasing` };
}

function recentLagZero(lastOffset: number, logEndOffsets: readonly number[]): boolean {
  return logEndOffsets.some((end) => end <= lastOffset);
}

function rewindIndex(commits: readonly CommitSample[]): number {
  for (let i = 1; i < commits.length; i++) {
    if ((commits[i] as CommitSample).offset < (commits[i - 1] as CommitSample).offset) return i;
  }
  return -1;
}

function rewindRecovered(commits: readonly CommitSample[], at: number): boolean {
  const previous = (commits[at - 1] as CommitSample).offset;
  for (let i = at; i < commits.length; i++) if ((commits[i] as CommitSample).offset >= previous) return true;
  return false;
}

function lagNeverDecreases(commits: readonly CommitSample[]): boolean {
  let previous: number | null = null;
  for (const { lag } of commits) {
    if (lag === null) continue;
    if (previous !== null && lag < previous) return false;
    previous = lag;
  }
  return true;
}

export interface GroupStatus {
  /** Worst partition status (STOP / STALL / REWIND kept specific). */
  status: ConsumerStatus;
  /** What Burrow itself would report for the group (STOP/STALL/REWIND → ERR). */
  burrowStatus: ConsumerStatus;
  reason: StatusReason;
  detail: string;
  /** Share of partitions whose window is full. */
  complete: number;
  totalLag: number;
  partitionCount: number;
}

export interface LabelledPartitionStatus extends PartitionStatus {
  topic: string;
  partition: number;
}

/** Burrow's group evaluation: worst partition wins; ties keep the one with more lag. */
export function evaluateGroup(partitions: readonly LabelledPartitionStatus[]): GroupStatus {
  let worst: LabelledPartitionStatus | undefined;
  let totalLag = 0;
  let full = 0;
  for (const p of partitions) {
    totalLag += p.currentLag;
    if (p.complete >= 1) full++;
    if (
      !worst ||
      STATUS_CODE[p.status] > STATUS_CODE[worst.status] ||
      (p.status === worst.status && p.currentLag > worst.currentLag)
    ) {
      worst = p;
    }
  }
  if (!worst) {
    return {
      status: 'OK',
      burrowStatus: 'OK',
      reason: 'no_commits',
      detail: 'no partitions',
      complete: 0,
      totalLag: 0,
      partitionCount: 0,
    };
  }
  return {
    status: worst.status,
    burrowStatus: STATUS_CODE[worst.status] > STATUS_CODE.ERR ? 'ERR' : worst.status,
    reason: worst.reason,
    detail: worst.status === 'OK' ? worst.detail : `${worst.topic}/${worst.partition}: ${worst.detail}`,
    complete: full / partitions.length,
    totalLag,
    partitionCount: partitions.length,
  };
}
