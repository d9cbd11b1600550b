import {
  defaultBurrowSettings,
  evaluatePartition,
  recordCommit,
  type BurrowSettings,
  type CommitSample,
  type LabelledPartitionStatus,
  type PartitionStatus,
} from './burrow.js';
import { partitionLag, type PartitionEnds, type PartitionLagValue, type ProbeResult } from './lag-calc.js';
import {
  byString,
  groupLag,
  viewFreshness,
  type GroupLag,
  type LagSnapshot,
  type OffsetSource,
  type PartitionLag,
} from './lag-snapshot.js';
import { createOffsetTimeTable, type OffsetTimeTable } from './offset-time-table.js';
import { resolveProbe, tpKey, type ProbeRange, type ProbeRequest } from '../log/record-probe.js';
import type { ViewFreshnessRow } from '../db/view-freshness.js';
import type { StoredOffset } from './stored-offsets.js';

/**
 * The lag monitor's state between polls and the arithmetic of one poll, with
 * no I/O: the monitor reads the cluster and PostgreSQL, this turns readings
 * into a snapshot. Keeps per partition the log-end samples (interpolation,
 * Burrow's broker offsets) and the commit windows (Burrow's rules).
 *
 * The truth: a group with rows in `consumer_offsets` is judged by them (lag,
 * seconds, status), a partition without a row at its log start (where the
 * group's positioner starts it); Kafka's committed offsets of such a group are
 * evaluated too, as advisory `kafka` figures, and compared with the stored
 * ones (`disagree` after the grace period). Any other group is judged by its
 * Kafka-committed offsets.
 */
export interface GroupReading {
  group: string;
  state: string;
  members: number;
  isSimpleConsumer: boolean;
  committed: { topic: string; partition: number; offset: number }[];
}

export interface PollReadings {
  groups: GroupReading[];
  stored: StoredOffset[];
  /** topic → partition → ends */
  ends: Map<string, Map<number, PartitionEnds>>;
  /** topic → retention.ms (topics without a time limit absent) */
  retentionMs: Map<string, number>;
  views: ViewFreshnessRow[];
  errors: string[];
}

export interface LagModelOptions {
  clusterName: string;
  burrow?: Partial<BurrowSettings>;
  /** Log-end samples kept per partition for interpolation. */
  tableCapacity?: number;
  /** How long Kafka-committed and stored offsets may differ before it is flagged (a batch commits to PostgreSQL first). */
  disagreementGraceMs?: number;
}

export interface LagModel {
  /** Partitions whose first unconsumed record should be read this poll (cache misses only). */
  probeRequests(readings: PollReadings): ProbeRequest[];
  update(readings: PollReadings, nowMs: number, probes: ReadonlyMap<string, ProbeRange[]>, pollDurationMs: number): LagSnapshot;
}

/** One offset source's Burrow window of a partition, and what the polls saw of it. */
interface Window {
  commits: CommitSample[];
  /** Polls that saw the partition since the window began. */
  observations: number;
  /** Lag at the last `intervals` polls, newest last. */
  recentLags: number[];
}

interface PartitionHistory {
  kafka: Window;
  stored: Window;
  storedUpdatedAtMs: number | undefined;
  disagreeSinceMs: number | undefined;
}

const emptyWindow = (): Window => ({ commits: [], observations: 0, recentLags: [] });

/** A partition's lag from one offset and Burrow's verdict on it. */
type Judged = PartitionLagValue & PartitionStatus;

/** Fetched ranges kept per partition (several groups at different positions share a partition). */
const RANGES_PER_PARTITION = 4;

export function createLagModel({
  clusterName,
  burrow = {},
  tableCapacity = 60,
  disagreementGraceMs = 30_000,
}: LagModelOptions): LagModel {
  const settings: BurrowSettings = { ...defaultBurrowSettings, ...burrow };
  const tables = new Map<string, OffsetTimeTable>();
  const histories = new Map<string, PartitionHistory>();
  let ranges = new Map<string, ProbeRange[]>();

  let touched = new Set<string>();
  const history = (group: string, topic: string, partition: number): PartitionHistory => {
    const key = `${group}\u0000${tpKey(topic, partition)}`;
    touched.add(key);
    let h = histories.get(key);
    if (!h) {
      h = { kafka: emptyWindow(), stored: emptyWindow(), storedUpdatedAtMs: undefined, disagreeSinceMs: undefined };
      histories.set(key, h);
    }
    return h;
  };

  /** Every lagging (topic, partition, position) of this poll. */
  function wanted(readings: PollReadings): ProbeRequest[] {
    const seen = new Map<string, ProbeRequest>();
    const want = (topic: string, partition: number, offset: number) => {
      const ends = readings.ends.get(topic)?.get(partition);
      if (!ends) return;
      const position = Math.max(offset, ends.earliest);
      if (position >= ends.latest) return;
      seen.set(`${tpKey(topic, partition)}\u0000${position}`, { topic, partition, offset: position });
    };
    const storing = new Set(readings.stored.map((s) => s.group));
    const storedAt = new Set(readings.stored.map((s) => `${s.group}\u0000${tpKey(s.topic, s.partition)}`));
    for (const g of readings.groups) {
      for (const c of g.committed) {
        want(c.topic, c.partition, c.offset);
        // A storing group's partition without a row stands at the log start.
        if (storing.has(g.group) && !storedAt.has(`${g.group}\u0000${tpKey(c.topic, c.partition)}`)) want(c.topic, c.partition, 0);
      }
    }
    for (const s of readings.stored) want(s.topic, s.partition, s.nextOffset);
    return [...seen.values()];
  }

  /**
   * What the kept ranges say about a position: a data record (records never
   * change), else the furthest "only markers up to X" (also never untrue,
   * only possibly incomplete once the log grows past X).
   */
  function known(rs: readonly ProbeRange[] | undefined, position: number): ProbeResult | undefined {
    let best: ProbeResult | undefined;
    for (const range of rs ?? []) {
      const r = resolveProbe(range, position);
      if (r?.kind === 'data') return r;
      if (r && (!best || (best.kind === 'none' && r.checkedUpTo > best.checkedUpTo))) best = r;
    }
    return best;
  }
  const complete = (r: ProbeResult | undefined, latest: number) => r !== undefined && (r.kind === 'data' || r.checkedUpTo >= latest);
  const latestOf = (readings: PollReadings, r: ProbeRequest) => readings.ends.get(r.topic)?.get(r.partition)?.latest ?? Infinity;

  return {
    probeRequests: (readings) =>
      wanted(readings).filter((r) => !complete(known(ranges.get(tpKey(r.topic, r.partition)), r.offset), latestOf(readings, r))),

    update(readings, nowMs, probes, pollDurationMs) {
      // Fresh ranges first; keep a few per partition, drop partitions nobody lags on.
      const next = new Map<string, ProbeRange[]>();
      for (const r of wanted(readings)) {
        const key = tpKey(r.topic, r.partition);
        if (!next.has(key)) next.set(key, [...(probes.get(key) ?? []), ...(ranges.get(key) ?? [])].slice(0, RANGES_PER_PARTITION));
      }
      ranges = next;
      touched = new Set();

      for (const [topic, parts] of readings.ends) {
        for (const [partition, ends] of parts) {
          let t = tables.get(tpKey(topic, partition));
          if (!t) tables.set(tpKey(topic, partition), (t = createOffsetTimeTable({ capacity: tableCapacity })));
          t.add({ offset: ends.latest, timeMs: nowMs });
        }
      }

      const lagOf = (topic: string, partition: number, ends: PartitionEnds, offset: number): PartitionLagValue => {
        const probe = known(ranges.get(tpKey(topic, partition)), Math.max(offset, ends.earliest));
        return partitionLag(offset, ends, nowMs, tables.get(tpKey(topic, partition)), probe);
      };
      const recentEnds = (topic: string, partition: number) =>
        tables.get(tpKey(topic, partition))?.recentOffsets(settings.intervals) ?? [];

      const storedByGroup = new Map<string, StoredOffset[]>();
      for (const s of readings.stored) {
        const list = storedByGroup.get(s.group);
        if (list) list.push(s);
        else storedByGroup.set(s.group, [s]);
      }
      const readingByGroup = new Map(readings.groups.map((g) => [g.group, g]));
      const groupNames = new Set([...readingByGroup.keys(), ...storedByGroup.keys()]);

      /** Adds this poll to a window and evaluates it. */
      const judge = (w: Window, topic: string, partition: number, value: PartitionLagValue): Judged => {
        w.observations++;
        w.recentLags = [...w.recentLags, value.lag].slice(-settings.intervals);
        const input = { commits: w.commits, logEndOffsets: recentEnds(topic, partition), currentLag: value.lag, nowMs };
        return { ...value, ...evaluatePartition({ ...input, observations: w.observations, recentLags: w.recentLags }, settings) };
      };

      const groups: GroupLag[] = [];
      for (const name of [...groupNames].sort()) {
        const reading = readingByGroup.get(name);
        const stored = new Map((storedByGroup.get(name) ?? []).map((s) => [tpKey(s.topic, s.partition), s]));
        const committed = new Map((reading?.committed ?? []).map((c) => [tpKey(c.topic, c.partition), c]));
        const source: OffsetSource = stored.size > 0 ? 'postgres' : 'kafka';
        const keys = new Map<string, { topic: string; partition: number }>();
        for (const [key, { topic, partition }] of [...committed, ...stored]) keys.set(key, { topic, partition });

        const partitions: (PartitionLag & { topic: string })[] = [];
        const statuses: LabelledPartitionStatus[] = [];
        const kafkaStatuses: LabelledPartitionStatus[] = [];
        for (const [key, { topic, partition }] of keys) {
          const ends = readings.ends.get(topic)?.get(partition);
          if (!ends) continue;
          const h = history(name, topic, partition);
          const c = committed.get(key);
          const s = stored.get(key);

          let kafka: Judged | undefined;
          if (c) {
            const r = lagOf(topic, partition, ends, c.offset);
            const last = h.kafka.commits[h.kafka.commits.length - 1];
            // Polling cannot see commits of an unchanged offset: a live member is
            // taken to be committing (→ STALL when stuck), an empty group not (→ STOP).
            if (!last || last.offset !== c.offset || (reading?.members ?? 0) > 0) {
              h.kafka.commits = recordCommit(h.kafka.commits, { offset: c.offset, timestampMs: nowMs, lag: r.lag }, settings);
            }
            kafka = judge(h.kafka, topic, partition, r);
            kafkaStatuses.push({ ...kafka, topic, partition });
          }

          let offset: number;
          let truth: Judged;
          if (source === 'postgres') {
            offset = s?.nextOffset ?? ends.earliest;
            const r = lagOf(topic, partition, ends, offset);
            if (s && h.storedUpdatedAtMs !== s.updatedAtMs) {
              // PostgreSQL tells the real commit time, so the window is exact here.
              h.stored.commits = recordCommit(h.stored.commits, { offset, timestampMs: s.updatedAtMs, lag: r.lag }, settings);
              h.storedUpdatedAtMs = s.updatedAtMs;
            }
            truth = judge(h.stored, topic, partition, r);
            // The consumer will not read this partition until an operator acts: STOP, and the stored reason says why.
            if (s?.blockedReason) truth = { ...truth, status: 'STOP', reason: 'offset_blocked', detail: s.blockedReason };
            const differs = c !== undefined && s !== undefined && c.offset !== s.nextOffset;
            if (!differs) h.disagreeSinceMs = undefined;
            else h.disagreeSinceMs ??= nowMs;
          } else if (c && kafka) {
            offset = c.offset;
            truth = kafka;
          } else continue;
          statuses.push({ ...truth, topic, partition });
          partitions.push({
            topic,
            partition,
            logStartOffset: ends.earliest,
            logEndOffset: ends.latest,
            offset,
            committedOffset: c?.offset ?? null,
            lag: truth.lag,
            lagSeconds: truth.lagSeconds,
            lagSecondsMethod: truth.lagSecondsMethod,
            status: truth.status,
            reason: truth.reason,
            kafka:
              source === 'postgres' && kafka
                ? { lag: kafka.lag, lagSeconds: kafka.lagSeconds, lagSecondsMethod: kafka.lagSecondsMethod, status: kafka.status, reason: kafka.reason }
                : null,
            stored: s
              ? {
                  offset: s.nextOffset,
                  updatedAt: new Date(s.updatedAtMs).toISOString(),
                  lag: truth.lag,
                  lagSeconds: truth.lagSeconds,
                  disagree: h.disagreeSinceMs !== undefined && nowMs - h.disagreeSinceMs >= disagreementGraceMs,
                }
              : null,
            blocked: source === 'postgres' ? (s?.blockedReason ?? null) : null,
          });
        }

        groups.push(groupLag(name, readings.retentionMs, reading, source, partitions, statuses, kafkaStatuses));
      }

      // Forget groups, topics and partitions that are gone, so a long-running
      // monitor does not keep the history of every group it ever saw.
      // A poll with errors read only part of the cluster: keep everything then.
      if (readings.errors.length === 0) {
        for (const key of histories.keys()) if (!touched.has(key)) histories.delete(key);
        for (const key of tables.keys()) {
          const [topic, partition] = key.split('\u0000');
          if (!readings.ends.get(topic ?? '')?.has(Number(partition))) tables.delete(key);
        }
      }

      return {
        clusterName,
        polledAt: new Date(nowMs).toISOString(),
        pollDurationMs,
        groups,
        topics: [...readings.ends]
          .map(([topic, parts]) => ({
            topic,
            retentionMs: readings.retentionMs.get(topic) ?? null,
            partitions: [...parts]
              .map(([partition, e]) => ({ partition, earliest: e.earliest, latest: e.latest }))
              .sort((a, b) => a.partition - b.partition),
          }))
          .sort((a, b) => byString(a.topic, b.topic)),
        views: readings.views.map((v) => viewFreshness(v, nowMs)),
        errors: readings.errors,
      };
    },
  };
}
