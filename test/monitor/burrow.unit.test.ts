import { describe, expect, it } from 'vitest';
import {
  defaultBurrowSettings,
  evaluateGroup,
  evaluatePartition,
  recordCommit,
  type CommitSample,
  type ConsumerStatus,
} from '../../src/monitor/burrow.js';

/**
 * The scripted histories of Burrow's own evaluator test table
 * (linkedin/Burrow core/internal/evaluator/caching_test.go, `tests`):
 * [offset, commit timestamp ms, lag at commit], broker log ends, current lag,
 * now in seconds, allowed lag and the status Burrow computes.
 */
interface Case {
  name: string;
  commits: [number, number, number | null][];
  logEnds: number[];
  currentLag: number;
  nowS: number;
  allowedLag: number;
  status: ConsumerStatus;
}
const burrowCases: Case[] = [
  { name: '0 - returns OK because there is zero lag somewhere', commits: [[1000, 100000, 0], [2000, 200000, 50], [3000, 300000, 100], [4000, 400000, 150], [5000, 500000, 200]], logEnds: [5200], currentLag: 200, nowS: 600, allowedLag: 0, status: 'OK' },
  { name: '1 - same status. does not return true for stop because time since last commit (400s) is equal to the difference (500-100), not greater than', commits: [[1000, 100000, 0], [2000, 200000, 50], [3000, 300000, 100], [4000, 400000, 150], [5000, 500000, 200]], logEnds: [5200], currentLag: 200, nowS: 900, allowedLag: 0, status: 'OK' },
  { name: '2 - status is now STOP because the time since last commit is great enough (500s), even though lag is zero at the start (fixed due to #290)', commits: [[1000, 100000, 0], [2000, 200000, 50], [3000, 300000, 100], [4000, 400000, 150], [5000, 500000, 200]], logEnds: [5200], currentLag: 200, nowS: 1000, allowedLag: 0, status: 'STOP' },
  { name: '3 - status is STOP when lag is always non-zero as well', commits: [[1000, 100000, 50], [2000, 200000, 100], [3000, 300000, 150], [4000, 400000, 200], [5000, 500000, 250]], logEnds: [5250], currentLag: 250, nowS: 1000, allowedLag: 0, status: 'STOP' },
  { name: '4 - status is OK because of zero lag, but stall is true because the offset is always the same and there is lag (another commit with turn this to stall)', commits: [[1000, 100000, 0], [1000, 200000, 50], [1000, 300000, 100], [1000, 400000, 150], [1000, 500000, 200]], logEnds: [1200], currentLag: 200, nowS: 600, allowedLag: 0, status: 'OK' },
  { name: '5 - status is now STALL because the lag is always non-zero', commits: [[1000, 100000, 100], [1000, 200000, 150], [1000, 300000, 200], [1000, 400000, 250], [1000, 500000, 300]], logEnds: [1300], currentLag: 300, nowS: 600, allowedLag: 0, status: 'STALL' },
  { name: '6 - status is still STALL even when the lag stays the same', commits: [[1000, 100000, 100], [1000, 200000, 100], [1000, 300000, 100], [1000, 400000, 100], [1000, 500000, 100]], logEnds: [1100], currentLag: 100, nowS: 600, allowedLag: 0, status: 'STALL' },
  { name: '7 - status is OK because the offsets go backwards, but though the lag does decrease within the window (caught up the rewind)', commits: [[1000, 100000, 100], [2000, 200000, 150], [3000, 300000, 200], [2000, 400000, 1250], [4000, 500000, 300]], logEnds: [4300], currentLag: 300, nowS: 600, allowedLag: 0, status: 'OK' },
  { name: '8 - status is OK because the current lag is 0 (even though the offsets show lag), even though it would be considered stopped due to timestamps', commits: [[1000, 100000, 50], [2000, 200000, 100], [3000, 300000, 150], [4000, 400000, 200], [5000, 500000, 250]], logEnds: [5250], currentLag: 0, nowS: 1000, allowedLag: 0, status: 'OK' },
  { name: '9 - status is STOP due to timestamps because the current lag is non-zero, even though lag is always zero in offsets, only because there is new data (#290)', commits: [[792748079, 1512224618356, 0], [792748080, 1512224619362, 0], [792748081, 1512224620366, 0], [792748082, 1512224621367, 0], [792748083, 1512224622370, 0], [792748084, 1512224623373, 0], [792748085, 1512224624378, 0], [792748086, 1512224625379, 0], [792748087, 1512224626383, 0], [792748088, 1512224627383, 0], [792748089, 1512224628383, 0], [792748090, 1512224629388, 0], [792748091, 1512224630391, 0], [792748092, 1512224631394, 0], [792748093, 1512224632397, 0]], logEnds: [792749024, 792749000, 792748800, 792748600, 792748500], currentLag: 931, nowS: 1512224650, allowedLag: 0, status: 'STOP' },
  { name: '10 - status is OK, even though it would be stop due to timestamps, as within the recent broker offset window the lag was zero (#303)', commits: [[792748079, 1512224618356, 0], [792748080, 1512224619362, 0], [792748081, 1512224620366, 0], [792748082, 1512224621367, 0], [792748083, 1512224622370, 0], [792748084, 1512224623373, 0], [792748085, 1512224624378, 0], [792748086, 1512224625379, 0], [792748087, 1512224626383, 0], [792748088, 1512224627383, 0], [792748089, 1512224628383, 0], [792748090, 1512224629388, 0], [792748091, 1512224630391, 0], [792748092, 1512224631394, 0], [792748093, 1512224632397, 0]], logEnds: [792748094, 792748093, 792748093, 792748093], currentLag: 1, nowS: 1512224650, allowedLag: 0, status: 'OK' },
  { name: '11 - same case as test 0 with additional `nil` lag entries which should not affect results', commits: [[1000, 100000, 0], [1500, 150000, null], [2000, 200000, 50], [2500, 250000, null], [3000, 300000, 100], [3500, 350000, null], [4000, 400000, 150], [4500, 450000, null], [5000, 500000, 200], [5500, 550000, null]], logEnds: [5700], currentLag: 200, nowS: 600, allowedLag: 0, status: 'OK' },
  { name: '12 - status is OK despite the fact that the current lag is greater zero and the time since last commit is great enough because of the configured allowed lag', commits: [[1000, 100000, 2], [2000, 200000, 1], [2000, 300000, 1]], logEnds: [2001], currentLag: 1, nowS: 550, allowedLag: 1, status: 'OK' },
  { name: '13 - same as 5 but with an allowed lag', commits: [[1000, 100000, 100], [1000, 200000, 150], [1000, 300000, 200], [1000, 400000, 250], [1000, 500000, 300]], logEnds: [1300], currentLag: 300, nowS: 600, allowedLag: 99, status: 'STALL' },
  { name: '14 - same as 7 but with an allowed lag', commits: [[1000, 100000, 100], [2000, 200000, 150], [3000, 300000, 200], [2000, 400000, 1250], [4000, 500000, 300]], logEnds: [4300], currentLag: 300, nowS: 600, allowedLag: 99, status: 'OK' },
  { name: '15 - Rewind, but we did not catch up to the previous point', commits: [[1000, 100000, 100], [2000, 200000, 150], [3000, 300000, 200], [2000, 400000, 1250], [2500, 500000, 300]], logEnds: [4300], currentLag: 300, nowS: 600, allowedLag: 0, status: 'REWIND' },
];

const toCommits = (c: Case['commits']): CommitSample[] => c.map(([offset, timestampMs, lag]) => ({ offset, timestampMs, lag }));

/** Burrow's own defaults: its `minimum-complete` is 0 (ours is 1, see "enough data" below). */
const burrowDefaults = { ...defaultBurrowSettings, minimumComplete: 0 };

describe('Burrow partition rules (Burrow test table)', () => {
  it.each(burrowCases)('$name → $status', (c) => {
    const result = evaluatePartition(
      { commits: toCommits(c.commits), logEndOffsets: c.logEnds, currentLag: c.currentLag, nowMs: c.nowS * 1000 },
      { ...burrowDefaults, allowedLag: c.allowedLag },
    );
    expect(result.status).toBe(c.status);
  });
});

describe('Burrow statuses on scripted commit histories', () => {
  const settings = { ...burrowDefaults, intervals: 5, minDistanceMs: 0 };
  /** Feeds (offset, log end) pairs one per 10 s, as the monitor does after each poll. */
  function run(history: [offset: number, logEnd: number][], nowAfterLastS = 0) {
    let commits: CommitSample[] = [];
    let t = 0;
    for (const [offset, end] of history) {
      commits = recordCommit(commits, { offset, timestampMs: t, lag: Math.max(0, end - offset) }, settings);
      t += 10_000;
    }
    const last = history[history.length - 1] as [number, number];
    return evaluatePartition(
      {
        commits,
        logEndOffsets: history.map(([, e]) => e),
        currentLag: Math.max(0, last[1] - last[0]),
        nowMs: t - 10_000 + nowAfterLastS * 1000,
      },
      settings,
    );
  }

  it('caught up → OK', () => {
    expect(run([[10, 10], [20, 20], [30, 30]])).toMatchObject({ status: 'OK', reason: 'caught_up' });
  });
  it('behind but catching up → OK (lag decreasing)', () => {
    expect(run([[0, 100], [40, 120], [90, 140], [130, 150], [150, 160]])).toMatchObject({ status: 'OK', reason: 'lag_decreasing' });
  });
  it('progressing but falling behind → WARN', () => {
    expect(run([[0, 100], [10, 120], [20, 140], [30, 160], [40, 180]])).toMatchObject({ status: 'WARN', reason: 'lag_not_decreasing' });
  });
  it('committing the same offset with lag → STALL', () => {
    expect(run([[50, 100], [50, 110], [50, 120], [50, 130], [50, 140]])).toMatchObject({ status: 'STALL', reason: 'offset_not_advancing' });
  });
  it('no commit for longer than the window with lag → STOP', () => {
    expect(run([[0, 100], [10, 110], [20, 120]], 30)).toMatchObject({ status: 'STOP', reason: 'commits_stopped' });
  });
  it('stopped but caught up recently → not STOP (Burrow grace)', () => {
    expect(run([[0, 100], [10, 110], [120, 120]], 30).status).toBe('OK');
  });
  it('offset went back and has not recovered → REWIND', () => {
    expect(run([[80, 100], [90, 110], [30, 120], [40, 130]])).toMatchObject({ status: 'REWIND', reason: 'offset_rewound' });
  });
  it('rewind that recovered past the old offset → not REWIND', () => {
    expect(run([[80, 100], [30, 110], [95, 120], [110, 125]]).status).toBe('OK');
  });
  it('empty window → OK with no_commits', () => {
    expect(evaluatePartition({ commits: [], logEndOffsets: [], currentLag: 5, nowMs: 0 }, settings)).toMatchObject({
      status: 'OK',
      reason: 'no_commits',
    });
  });
});

describe('enough data before a verdict (issue 27)', () => {
  const ours = defaultBurrowSettings; // 10 intervals, a full window needed
  const oneCommit = [{ offset: 100, timestampMs: 0, lag: 8 }];

  it('one commit a second ago with lag 8: Burrow says STOP, we say not enough data', () => {
    const input = { commits: oneCommit, logEndOffsets: [108], currentLag: 8, nowMs: 1_000 };
    expect(evaluatePartition(input, burrowDefaults)).toMatchObject({ status: 'STOP', detail: 'no commit for 1 s with lag 8' });
    expect(evaluatePartition({ ...input, observations: 1 }, ours)).toEqual({
      status: 'OK',
      reason: 'incomplete_window',
      detail: 'not enough data: lag 8, 1 of 10 commits in the window over 1 poll(s)',
      complete: 0.1,
      currentLag: 8,
    });
  });

  it('caught up needs no window', () => {
    expect(evaluatePartition({ commits: oneCommit, logEndOffsets: [100], currentLag: 0, nowMs: 1_000, observations: 1 }, ours)).toMatchObject({
      status: 'OK',
      reason: 'caught_up',
    });
  });

  it('a full window is judged', () => {
    const commits = Array.from({ length: 10 }, (_, i) => ({ offset: 100 + i * 10, timestampMs: i * 1_000, lag: 5 }));
    expect(evaluatePartition({ commits, logEndOffsets: [200], currentLag: 110, nowMs: 20_000 }, ours)).toMatchObject({
      status: 'STOP',
      detail: 'no commit for 11 s with lag 110',
    });
  });

  it('observed for a window of polls without a commit while lagging: STOP on one commit', () => {
    const input = { commits: oneCommit, logEndOffsets: [130], currentLag: 30, nowMs: 50_000, recentLags: Array<number>(10).fill(30) };
    expect(evaluatePartition({ ...input, observations: 9 }, ours)).toMatchObject({ status: 'OK', reason: 'incomplete_window' });
    expect(evaluatePartition({ ...input, observations: 10 }, ours)).toMatchObject({ status: 'STOP', detail: 'no commit for 50 s with lag 30' });
  });

  it('one commit observed long enough but caught up recently: neither STOP nor STALL', () => {
    const input = { commits: oneCommit, logEndOffsets: [101], currentLag: 1, nowMs: 50_000, observations: 10, recentLags: [0, 0, 1] };
    expect(evaluatePartition(input, ours)).toMatchObject({ status: 'OK', reason: 'incomplete_window', detail: 'not enough data: lag 1, 1 commit in the window' });
  });

  it('a commit marker below the log end is not lag: a recent poll at lag 0 is the grace the log-end samples cannot give', () => {
    // Stored offset 100 = last data record + 1; each transaction's marker puts the log end at 101.
    const commits = Array.from({ length: 10 }, (_, i) => ({ offset: 91 + i, timestampMs: i * 1_000, lag: 0 }));
    const input = { commits, logEndOffsets: [101, 101, 103], currentLag: 2, nowMs: 60_000, observations: 60 };
    expect(evaluatePartition(input, ours)).toMatchObject({ status: 'STOP' });
    expect(evaluatePartition({ ...input, recentLags: [0, 0, 2] }, ours)).toMatchObject({ status: 'OK', reason: 'lag_was_zero_in_window' });
  });
});

describe('recordCommit', () => {
  const s = { intervals: 3, minDistanceMs: 1_000 };
  it('keeps the last `intervals` commits, oldest first', () => {
    let w: CommitSample[] = [];
    for (let i = 0; i < 5; i++) w = recordCommit(w, { offset: i, timestampMs: i * 2_000, lag: 0 }, s);
    expect(w.map((c) => c.offset)).toEqual([2, 3, 4]);
  });
  it('merges commits closer than min-distance into the previous one, keeping its time', () => {
    let w = recordCommit([], { offset: 1, timestampMs: 0, lag: 0 }, s);
    w = recordCommit(w, { offset: 2, timestampMs: 500, lag: 0 }, s);
    expect(w).toEqual([{ offset: 2, timestampMs: 0, lag: 0 }]);
  });
  it('drops out-of-order commits', () => {
    const w = recordCommit([{ offset: 5, timestampMs: 10_000, lag: 0 }], { offset: 6, timestampMs: 1, lag: 0 }, s);
    expect(w).toHaveLength(1);
  });
});

describe('group status', () => {
  const p = (status: ConsumerStatus, lag: number, partition: number) => ({
    topic: 't',
    partition,
    status,
    reason: 'caught_up' as const,
    detail: '',
    complete: 1,
    currentLag: lag,
  });
  it('is the worst partition; Burrow reports STOP/STALL/REWIND as ERR', () => {
    const g = evaluateGroup([p('OK', 0, 0), p('WARN', 10, 1), p('STOP', 5, 2)]);
    expect(g).toMatchObject({ status: 'STOP', burrowStatus: 'ERR', totalLag: 15, partitionCount: 3 });
  });
  it('WARN stays WARN for Burrow', () => {
    expect(evaluateGroup([p('OK', 0, 0), p('WARN', 10, 1)]).burrowStatus).toBe('WARN');
  });
});
