/**
 * Offset → time interpolation over recent log-end samples of one partition,
 * the method of kafka-lag-exporter (LookupTable.scala): each poll adds the
 * point (log-end offset, time); the time a record was appended is estimated
 * from the two points around its offset, or extrapolated from the table's
 * overall rate when the offset is older than the table.
 *
 * Error bound: within the table the estimate is off by at most the distance
 * between the two surrounding samples (one poll interval), because the record
 * was appended somewhere in that interval. Beyond the table it depends on
 * how steady the produce rate was; when the table has no rate (idle topic)
 * the oldest sample time is returned, a lower bound of the lag.
 *
 * Flat runs (idle topic) keep only their first and last point, so an idle
 * partition neither evicts its history nor grows the table.
 */
export interface OffsetTimePoint {
  offset: number;
  timeMs: number;
}

export interface OffsetTimeLookup {
  /** Estimated append time of the record at `offset`, in epoch ms. */
  timeMs: number;
  method: 'interpolated' | 'extrapolated' | 'lower_bound';
}

export interface OffsetTimeTable {
  add(point: OffsetTimePoint): void;
  /** Undefined when the table is empty or the offset is not below the newest log end (no lag). */
  lookup(offset: number): OffsetTimeLookup | undefined;
  points(): readonly OffsetTimePoint[];
  /** Recent log-end offsets, newest last (Burrow's broker-offset ring). */
  recentOffsets(count: number): number[];
}

export function createOffsetTimeTable({ capacity = 60 }: { capacity?: number } = {}): OffsetTimeTable {
  if (!Number.isInteger(capacity) || capacity < 3) throw new RangeError(`capacity must be an integer >= 3, got ${capacity}`);
  const pts: OffsetTimePoint[] = [];

  return {
    add(point) {
      const last = pts[pts.length - 1];
      if (last) {
        if (point.timeMs <= last.timeMs) return; // out of order
        // A log end that moved backwards means the topic was recreated or
        // truncated: the old history describes other records.
        if (point.offset < last.offset) pts.length = 0;
        else if (point.offset === last.offset) {
          const prev = pts[pts.length - 2];
          if (prev && prev.offset === last.offset) {
            pts[pts.length - 1] = point;
            return;
          }
        }
      }
      pts.push(point);
      if (pts.length > capacity) pts.shift();
    },

    lookup(offset) {
      const newest = pts[pts.length - 1];
      const oldest = pts[0];
      if (!newest || !oldest || offset >= newest.offset) return undefined;
      // The record at `offset` exists once the log end exceeds it: find the
      // first sample where that is true.
      const i = pts.findIndex((p) => p.offset > offset);
      if (i > 0) {
        const a = pts[i - 1] as OffsetTimePoint;
        const b = pts[i] as OffsetTimePoint;
        const share = (offset + 1 - a.offset) / (b.offset - a.offset);
        return { timeMs: a.timeMs + share * (b.timeMs - a.timeMs), method: 'interpolated' };
      }
      const rate = (newest.offset - oldest.offset) / (newest.timeMs - oldest.timeMs);
      if (pts.length < 2 || !(rate > 0)) return { timeMs: oldest.timeMs, method: 'lower_bound' };
      return { timeMs: oldest.timeMs - (oldest.offset - (offset + 1)) / rate, method: 'extrapolated' };
    },

    points: () => pts.slice(),

    recentOffsets(count) {
      return pts.slice(Math.max(0, pts.length - count)).map((p) => p.offset);
    },
  };
}
