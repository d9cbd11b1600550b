import { describe, expect, it } from 'vitest';
import { createProgressTracker, formatProgress, partitionState, type PartitionReading } from '../../src/consumers/rebuild-progress.js';

const reading = (o: Partial<PartitionReading> = {}): PartitionReading => ({ partition: 0, low: 0, high: 100, rebuilt: 40, live: 100, ...o });
const opts = { stallAfterMs: 10_000, swapBlocked: false };

describe('rebuild progress per partition', () => {
  it('a partition whose offset moved recently is moving, with no reason', () => {
    expect(partitionState(reading(), 500, opts)).toEqual({ state: 'moving' });
  });

  it('names a partition that has not moved for a while with the reason', () => {
    const stalled = partitionState(reading(), 10_000, opts);
    expect(stalled.state).toBe('stalled');
    expect(stalled.reason).toMatch(/^60 records pending, none applied: the rebuild's consumer is not fetching this partition/);
    expect(partitionState(reading({ rebuilt: undefined }), 10_000, opts).reason).toMatch(/nothing applied yet, 100 records to read: the partition is not assigned/);
  });

  it('behind the log start: the range retention deleted is named', () => {
    expect(partitionState(reading({ low: 50, rebuilt: 20 }), 10_000, opts)).toEqual({
      state: 'stalled',
      reason: 'behind the log start: offsets 20..49 were deleted from the topic (retention) before the rebuild read them',
    });
  });

  it('an empty partition has no records; one at its end is caught up at once', () => {
    expect(partitionState(reading({ low: 0, high: 0, rebuilt: undefined, live: undefined }), 0, opts)).toEqual({ state: 'caught-up', reason: 'no records' });
    expect(partitionState(reading({ low: 7, high: 7, rebuilt: 7, live: 7 }), 0, opts)).toEqual({ state: 'caught-up', reason: 'no records' });
    expect(partitionState(reading({ rebuilt: 100 }), 0, opts)).toEqual({ state: 'caught-up' });
  });

  it('idle at the live group below the end: the rest is transaction markers or aborted records', () => {
    expect(partitionState(reading({ rebuilt: 99, live: 99 }), 10_000, opts)).toEqual({
      state: 'caught-up',
      reason: 'no records to read past offset 99 (transaction markers or aborted records up to 100)',
    });
  });

  it('caught up while the swap waits for the live group', () => {
    expect(partitionState(reading({ rebuilt: 100 }), 0, { ...opts, swapBlocked: true })).toEqual({
      state: 'waiting',
      reason: 'waiting for the live group: its offset rows are locked by a batch in flight',
    });
  });

  it('reports on every observation even when nothing moves, and idle time grows', () => {
    let now = 0;
    const tracker = createProgressTracker({ stallAfterMs: 10_000, clock: () => now });
    const rs = [reading({ partition: 0, rebuilt: 40 }), reading({ partition: 1, rebuilt: 100 }), reading({ partition: 2, low: 0, high: 0, rebuilt: undefined, live: undefined })];
    const first = tracker.observe(rs);
    expect(first.partitions.map((p) => p.state)).toEqual(['moving', 'caught-up', 'caught-up']);
    expect(first.stalled).toEqual([]);
    now = 12_000;
    const later = tracker.observe(rs);
    expect(later.partitions[0]).toMatchObject({ partition: 0, state: 'stalled', idleMs: 12_000 });
    expect(later.stalled.map((p) => p.partition)).toEqual([0]);
    expect(formatProgress(later)).toMatch(/^rebuild 140\/200 .*p0:40\/100 stalled p1:100\/100 caught-up p2:0\/0 caught-up\n {2}p0 stalled, no progress for 12 s: 60 records pending/);
    // It moves again: the idle clock restarts.
    now = 13_000;
    const moved = tracker.observe([reading({ partition: 0, rebuilt: 60 }), rs[1]!, rs[2]!]);
    expect(moved.partitions[0]).toMatchObject({ state: 'moving', idleMs: 0 });
    expect(moved.eventsPerSecond).toBeCloseTo(20 / 13, 5);
  });
});
