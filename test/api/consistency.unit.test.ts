import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { consistencyStatus, estimateLag, groupBehind, toSeconds } from '../../src/api/consistency.js';
import { cacheControl, etagMatches, versionEtag, weakEtag } from '../../src/api/http-cache.js';
import type { LagSnapshot as ApiLagSnapshot } from '../../src/api/lag-schema.js';
import type { LagSnapshot as MonitorLagSnapshot } from '../../src/monitor/lag-snapshot.js';
import { lagSnapshot } from './lag-fixture.js';

const t = { upToDateMs: 1000, slightlyStaleMs: 5000 };
const NOW = Date.parse('2026-01-15T12:00:00Z');

// Compile-time contract: the monitor's snapshot can be handed to the API as is.
const _assignable: (s: MonitorLagSnapshot) => ApiLagSnapshot = (s) => s;

describe('consistencyStatus (seed 000 §9.4)', () => {
  it('maps the bounds inclusively: ≤ 1 s UP_TO_DATE, ≤ 5 s SLIGHTLY_STALE, else STALE; unknown is STALE', () => {
    expect(consistencyStatus(0, t)).toBe('UP_TO_DATE');
    expect(consistencyStatus(1000, t)).toBe('UP_TO_DATE');
    expect(consistencyStatus(1001, t)).toBe('SLIGHTLY_STALE');
    expect(consistencyStatus(5000, t)).toBe('SLIGHTLY_STALE');
    expect(consistencyStatus(5001, t)).toBe('STALE');
    expect(consistencyStatus(null, t)).toBe('STALE');
  });

  it('is monotonic in the lag', () => {
    const rank = { UP_TO_DATE: 0, SLIGHTLY_STALE: 1, STALE: 2 } as const;
    fc.assert(
      fc.property(fc.nat(100_000), fc.nat(100_000), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(rank[consistencyStatus(lo, t)]).toBeLessThanOrEqual(rank[consistencyStatus(hi, t)]);
      }),
    );
  });
});

describe('groupBehind (from the lag monitor snapshot)', () => {
  const snap = (lag: number, lagSeconds: number | null, polledAgoMs = 0) =>
    lagSnapshot('g', { lag, lagSeconds }, polledAgoMs) as ApiLagSnapshot;

  it('is unknown without a snapshot, before the first poll, for an unknown group or a stale snapshot', () => {
    expect(groupBehind(undefined, 'g', NOW)).toBeUndefined();
    expect(groupBehind({ ...snap(0, 0), polledAt: null }, 'g', NOW)).toBeUndefined();
    expect(groupBehind(snap(0, 0), 'other', NOW)).toBeUndefined();
    expect(groupBehind(snap(0, 0, 60_000), 'g', NOW)).toBeUndefined();
  });

  it('is 0 when caught up, the lag seconds plus the snapshot age when behind, null when the age is unknown', () => {
    expect(groupBehind(snap(0, 0), 'g', NOW)).toEqual({ behindMs: 0 });
    expect(groupBehind(snap(10, 3), 'g', NOW)).toEqual({ behindMs: 3000, atSnapshotMs: 3000 });
    expect(groupBehind(snap(10, 3, 2000), 'g', NOW)).toEqual({ behindMs: 5000, atSnapshotMs: 3000 });
    expect(groupBehind(snap(10, null), 'g', NOW)).toEqual({ behindMs: null });
  });

  it('prefers the offsets the group stores in PostgreSQL', () => {
    const s = snap(0, 0);
    s.groups[0]!.topics[0]!.partitions[0]!.stored = { offset: 90, updatedAt: '', lag: 10, lagSeconds: 7, disagree: true };
    expect(groupBehind(s, 'g', NOW)).toEqual({ behindMs: 7000, atSnapshotMs: 7000 });
  });
});

describe('estimateLag', () => {
  const applied = { appliedSourceTime: new Date(NOW - 10_000), appliedAt: new Date(NOW - 9_700) };

  it('without a lag monitor reports the delay of the last applied change (seed §9.4 updateTime − eventTime)', () => {
    expect(estimateLag({ ...applied, viewLastSourceTime: undefined, behind: undefined, now: NOW })).toEqual({ lagMs: 300, basis: 'last-applied' });
  });

  it('does not call an old but caught-up row stale', () => {
    const old = { appliedSourceTime: new Date(NOW - 86_400_000), appliedAt: new Date(NOW - 86_399_500) };
    expect(estimateLag({ ...old, viewLastSourceTime: new Date(NOW - 1000), behind: { behindMs: 0 }, now: NOW })).toEqual({
      lagMs: 500,
      basis: 'consumer-lag',
    });
  });

  it('when the group is behind, reports its lag; with unknown age, now − the view’s newest source time', () => {
    expect(estimateLag({ ...applied, viewLastSourceTime: new Date(NOW - 8000), behind: { behindMs: 4200 }, now: NOW }).lagMs).toBe(4200);
    expect(estimateLag({ ...applied, viewLastSourceTime: new Date(NOW - 8000), behind: { behindMs: null }, now: NOW }).lagMs).toBe(8000);
    expect(estimateLag({ ...applied, viewLastSourceTime: undefined, behind: { behindMs: null }, now: NOW }).lagMs).toBeNull();
  });

  it('clamps clock skew at 0 and is null when nothing was applied and nothing is known', () => {
    const skewed = { appliedSourceTime: new Date(NOW), appliedAt: new Date(NOW - 50) };
    expect(estimateLag({ ...skewed, viewLastSourceTime: undefined, behind: undefined, now: NOW }).lagMs).toBe(0);
    expect(estimateLag({ appliedSourceTime: null, appliedAt: null, viewLastSourceTime: null, behind: undefined, now: NOW })).toEqual({
      lagMs: null,
      basis: 'unknown',
    });
    expect(toSeconds(1234.4)).toBe(1.234);
    expect(toSeconds(null)).toBeNull();
  });
});

describe('HTTP caching from freshness', () => {
  it('never lets max-age outlive UP_TO_DATE, revalidates SLIGHTLY_STALE, never stores STALE', () => {
    expect(cacheControl('UP_TO_DATE', 0, t, { shared: true })).toBe('public, max-age=1, must-revalidate');
    expect(cacheControl('UP_TO_DATE', 300, t, { shared: false })).toBe('private, max-age=0, must-revalidate');
    expect(cacheControl('SLIGHTLY_STALE', 3000, t, { shared: true })).toBe('public, no-cache');
    expect(cacheControl('STALE', 9000, t, { shared: true })).toBe('no-store');
    fc.assert(
      fc.property(fc.nat(1000), (lag) => {
        const maxAge = Number(/max-age=(\d+)/.exec(cacheControl('UP_TO_DATE', lag, { upToDateMs: 1000, slightlyStaleMs: 5000 }, { shared: true }))![1]);
        expect(lag + maxAge * 1000).toBeLessThanOrEqual(1000);
      }),
    );
  });

  it('makes weak ETags that match If-None-Match lists, * and strong forms', () => {
    const tag = weakEtag([{ a: 1 }, 'UP_TO_DATE']);
    expect(tag).toMatch(/^W\/"[A-Za-z0-9_-]+"$/);
    expect(weakEtag([{ a: 1 }, 'STALE'])).not.toBe(tag);
    expect(etagMatches(tag, tag)).toBe(true);
    expect(etagMatches(`"x", ${tag}`, tag)).toBe(true);
    expect(etagMatches(tag.slice(2), tag)).toBe(true);
    expect(etagMatches('*', tag)).toBe(true);
    expect(etagMatches('"other"', tag)).toBe(false);
    expect(etagMatches(undefined, tag)).toBe(false);
  });

  it('makes version ETags that are valid entity tags and differ with every part', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.nat(), fc.string()), { minLength: 1, maxLength: 4 }), fc.nat(), (parts, bump) => {
        const tag = versionEtag(parts);
        // RFC 9110 §8.8.3: W/"etagc*" with etagc = %x21 / %x23-7E.
        expect(tag).toMatch(/^W\/"[\x21\x23-\x7e]*"$/);
        expect(etagMatches(tag, tag)).toBe(true);
        expect(versionEtag([...parts.slice(0, -1), typeof parts.at(-1) === 'number' ? (parts.at(-1) as number) + bump + 1 : `${String(parts.at(-1))}x`])).not.toBe(tag);
      }),
    );
  });
});
