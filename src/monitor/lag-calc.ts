import type { OffsetTimeTable } from './offset-time-table.js';

/**
 * What a read_committed fetch from a group's position found: the first data
 * record (its offset and timestamp), or that there is no data record from the
 * position up to `checkedUpTo` (only transaction markers or aborted records).
 */
export type ProbeResult =
  | { kind: 'data'; offset: number; timestampMs: number }
  | { kind: 'none'; checkedUpTo: number };

export interface PartitionEnds {
  /** Log-start offset (earliest retained). */
  earliest: number;
  /** Log-end offset (high watermark): the offset the next record will get. */
  latest: number;
}

export type LagSecondsMethod = 'zero' | 'exact' | 'interpolated' | 'extrapolated' | 'lower_bound';

export interface PartitionLagValue {
  /** Where a consumer at the committed offset actually stands. */
  position: number;
  lag: number;
  lagSeconds: number;
  lagSecondsMethod: LagSecondsMethod;
}

/**
 * Offset lag and seconds lag of one partition for one committed offset.
 *
 * Offsets: a committed offset below the log start counts from the log start
 * (those records are gone; the consumer will reset to it); when the probe
 * proved that only transaction markers or aborted records lie between the
 * position and `checkedUpTo`, the position moves there — a caught-up
 * read_committed consumer sits below the log end by the markers and is not
 * behind; a committed offset above the log end (fetch timing) gives 0.
 *
 * Seconds: 0 when there is no lag; otherwise `now − timestamp` of the first
 * unconsumed data record when the probe read it ("exact"; record timestamps
 * are producer CreateTime unless the topic uses LogAppendTime), else the
 * append time estimated from the log-end samples (see offset-time-table.ts).
 * Never NaN and never negative.
 */
export function partitionLag(
  committed: number,
  ends: PartitionEnds,
  nowMs: number,
  table: OffsetTimeTable | undefined,
  probe: ProbeResult | undefined,
): PartitionLagValue {
  let position = Math.max(committed, ends.earliest);
  if (probe?.kind === 'none' && probe.checkedUpTo > position) position = probe.checkedUpTo;
  const lag = Math.max(0, ends.latest - position);
  if (lag === 0) return { position, lag, lagSeconds: 0, lagSecondsMethod: 'zero' };
  if (probe?.kind === 'data' && probe.offset >= position) {
    return { position, lag, lagSeconds: secondsSince(nowMs, probe.timestampMs), lagSecondsMethod: 'exact' };
  }
  const estimate = table?.lookup(position);
  if (!estimate) return { position, lag, lagSeconds: 0, lagSecondsMethod: 'lower_bound' };
  return { position, lag, lagSeconds: secondsSince(nowMs, estimate.timeMs), lagSecondsMethod: estimate.method };
}

function secondsSince(nowMs: number, thenMs: number): number {
  const s = (nowMs - thenMs) / 1000;
  return Number.isFinite(s) && s > 0 ? s : 0;
}
