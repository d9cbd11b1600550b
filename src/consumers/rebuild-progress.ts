/**
 * Per-partition progress of a rebuild, computed from what PostgreSQL and
 * Kafka say on every poll — a pure function of those readings and the clock,
 * so it reports on schedule whether or not anything moves, and names a
 * partition that makes no progress with the reason.
 */
export interface PartitionReading {
  partition: number;
  /** Kafka's log start and end (high watermark). */
  low: number;
  high: number;
  /** The rebuild's stored next offset (undefined: nothing applied yet). */
  rebuilt: number | undefined;
  /** The live group's stored next offset (undefined: none). */
  live: number | undefined;
}

export type PartitionState = 'moving' | 'caught-up' | 'waiting' | 'stalled';

export interface PartitionProgress {
  partition: number;
  done: number;
  total: number;
  /**
   * `moving`: the offset moved within `stallAfterMs`; `caught-up`: nothing
   * left to read; `waiting`: caught up, but the swap waits for the live
   * group; `stalled`: records pending and nothing applied for `stallAfterMs`.
   */
  state: PartitionState;
  /** How long the rebuild's offset has not moved on this partition. */
  idleMs: number;
  /** Why the partition does not move (set for every state but `moving`, unless simply at the end). */
  reason?: string;
}

export interface RebuildProgress {
  partitions: PartitionProgress[];
  done: number;
  total: number;
  eventsPerSecond: number;
  etaSeconds: number | undefined;
  /** Partitions named with their reason: stalled, or waiting for the live group. */
  stalled: PartitionProgress[];
}

const WAITING = 'waiting for the live group: its offset rows are locked by a batch in flight';

/** State and reason of one partition, from its reading, how long it has been idle, and whether the swap is blocked. */
export function partitionState(
  r: PartitionReading,
  idleMs: number,
  { stallAfterMs, swapBlocked }: { stallAfterMs: number; swapBlocked: boolean },
): { state: PartitionState; reason?: string } {
  const rebuilt = r.rebuilt ?? 0;
  const atEnd = rebuilt >= r.high;
  if (!atEnd && idleMs < stallAfterMs) return { state: 'moving' };
  if (rebuilt < r.low) {
    return { state: 'stalled', reason: `behind the log start: offsets ${rebuilt}..${r.low - 1} were deleted from the topic (retention) before the rebuild read them` };
  }
  if (atEnd || rebuilt >= (r.live ?? 0)) {
    if (swapBlocked) return { state: 'waiting', reason: WAITING };
    if (r.high === r.low) return { state: 'caught-up', reason: 'no records' };
    if (atEnd) return { state: 'caught-up' };
    // At or past the live group, below the end, not moving: the rest is transaction markers or aborted records.
    return { state: 'caught-up', reason: `no records to read past offset ${rebuilt} (transaction markers or aborted records up to ${r.high})` };
  }
  return {
    state: 'stalled',
    reason:
      r.rebuilt === undefined
        ? `nothing applied yet, ${r.high - r.low} records to read: the partition is not assigned to the rebuild's consumer, or not positioned`
        : `${r.high - rebuilt} records pending, none applied: the rebuild's consumer is not fetching this partition (not assigned, or not positioned)`,
  };
}

/**
 * Tracks readings over time; `observe` returns the progress of one reading
 * (see {@link partitionState}).
 */
export function createProgressTracker({ stallAfterMs = 30_000, clock = Date.now }: { stallAfterMs?: number; clock?: () => number } = {}) {
  const lastMove = new Map<number, { at: number; rebuilt: number | undefined }>();
  let rateStart: { t: number; done: number } | undefined;

  return {
    observe(readings: PartitionReading[], swapBlocked = false): RebuildProgress {
      const now = clock();
      const partitions = readings.map((r): PartitionProgress => {
        const prev = lastMove.get(r.partition);
        if (!prev || prev.rebuilt !== r.rebuilt) lastMove.set(r.partition, { at: now, rebuilt: r.rebuilt });
        const idleMs = now - lastMove.get(r.partition)!.at;
        const { state, reason } = partitionState(r, idleMs, { stallAfterMs, swapBlocked });
        return { partition: r.partition, done: Math.min(r.rebuilt ?? 0, r.high), total: r.high, state, idleMs, ...(reason ? { reason } : {}) };
      });
      const done = partitions.reduce((s, p) => s + p.done, 0);
      const total = partitions.reduce((s, p) => s + p.total, 0);
      rateStart ??= { t: now, done };
      const elapsed = (now - rateStart.t) / 1000;
      const eventsPerSecond = elapsed > 0 ? (done - rateStart.done) / elapsed : 0;
      return {
        partitions,
        done,
        total,
        eventsPerSecond,
        etaSeconds: eventsPerSecond > 0 ? (total - done) / eventsPerSecond : undefined,
        stalled: partitions.filter((p) => p.state === 'stalled' || p.state === 'waiting'),
      };
    },
  };
}

/** One line per report: totals, then every partition, stalled ones with their reason. */
export function formatProgress(p: RebuildProgress): string {
  const eta = p.etaSeconds === undefined ? '?' : `${Math.round(p.etaSeconds)} s`;
  const parts = p.partitions.map((x) => `p${x.partition}:${x.done}/${x.total}${x.state === 'moving' ? '' : ` ${x.state}`}`).join(' ');
  const stalled = p.stalled.map((x) => `\n  p${x.partition} ${x.state}, no progress for ${Math.round(x.idleMs / 1000)} s: ${x.reason ?? 'unknown'}`).join('');
  return `rebuild ${p.done}/${p.total} (${Math.round(p.eventsPerSecond)} ev/s, ETA ${eta}) ${parts}${stalled}`;
}
