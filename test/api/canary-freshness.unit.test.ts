import { describe, expect, it } from 'vitest';
import { consistencyStatus, estimateLag } from '../../src/api/consistency.js';

const t = { upToDateMs: 1000, slightlyStaleMs: 5000 };
const NOW = Date.parse('2026-01-15T12:00:00Z');
const at = (msAgo: number) => new Date(NOW - msAgo);
const canary = (msAgo: number | null) => ({ lastTime: msAgo === null ? null : at(msAgo), intervalMs: 1000 });
const applied = { appliedSourceTime: at(60_000), appliedAt: at(59_800) };

describe('freshness from the end-to-end canary', () => {
  it('a healthy idle pipeline stays UP_TO_DATE: the heartbeat is never overdue', () => {
    for (const ago of [200, 700, 1100, 1900]) {
      const est = estimateLag({ ...applied, viewLastSourceTime: at(60_000), behind: { behindMs: 0 }, now: NOW, canary: canary(ago) });
      expect(est.basis).toBe('canary');
      expect(consistencyStatus(est.lagMs, t, est.basis)).toBe('UP_TO_DATE');
    }
  });

  it('a stopped stage (no heartbeat arrives) goes SLIGHTLY_STALE, then STALE, though the consumer group looks caught up', () => {
    const status = (msAgo: number) => {
      const est = estimateLag({ ...applied, viewLastSourceTime: at(60_000), behind: { behindMs: 0 }, now: NOW, canary: canary(msAgo) });
      return consistencyStatus(est.lagMs, t, est.basis);
    };
    expect(status(2_500)).toBe('SLIGHTLY_STALE');
    expect(status(6_500)).toBe('STALE');
  });

  it('a snapshot that caught a heartbeat in flight does not age with the snapshot; an older backlog does', () => {
    // Behind by 0.2 s when polled 0.95 s ago: a record in flight, which the canary judges.
    expect(estimateLag({ ...applied, viewLastSourceTime: at(1000), behind: { behindMs: 1150, atSnapshotMs: 200 }, now: NOW, canary: canary(300) }).lagMs).toBe(200);
    // Behind by 1.5 s at the snapshot: that record keeps ageing until the next poll.
    expect(estimateLag({ ...applied, viewLastSourceTime: at(1000), behind: { behindMs: 2450, atSnapshotMs: 1500 }, now: NOW, canary: canary(300) }).lagMs).toBe(2450);
  });

  it('takes the worse of the canary and the consumer lag, and is STALE before any heartbeat arrived', () => {
    expect(estimateLag({ ...applied, viewLastSourceTime: at(1000), behind: { behindMs: 7000 }, now: NOW, canary: canary(300) }).lagMs).toBe(7000);
    expect(estimateLag({ ...applied, viewLastSourceTime: at(1000), behind: undefined, now: NOW, canary: canary(null) })).toEqual({ lagMs: null, basis: 'canary' });
  });

  it('never answers UP_TO_DATE on a basis that cannot see the bridge', () => {
    for (const basis of ['consumer-lag', 'last-applied', 'unknown'] as const) expect(consistencyStatus(0, t, basis)).toBe('SLIGHTLY_STALE');
    const est = estimateLag({ ...applied, viewLastSourceTime: at(1000), behind: { behindMs: 0 }, now: NOW });
    expect(est.basis).toBe('consumer-lag');
    expect(consistencyStatus(est.lagMs, t, est.basis)).toBe('SLIGHTLY_STALE');
  });
});
