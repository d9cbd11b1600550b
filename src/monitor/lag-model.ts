import {
  defaultBurrowSettings,
  evaluatePartition,
  recordCommit,
  type BurrowSettings,
  type CommitSample,
  type LabelledPartitionStatus,
} from './burrow.js';
import { partitionLag, type PartitionEnds, type ProbeResult } from './lag-calc.js';
import { byString, groupLag, viewFreshness, type GroupLag, type LagSnapshot, type PartitionLag } from './lag-snapshot.js';
import { createOffsetTimeTable, type OffsetTimeTable } from './offset-time-table.js';
import { resolveProbe, tpKey, type ProbeRange, type ProbeRequest } from './record-probe.js';
import type { StoredOffset, ViewFreshnessRow } from './stored-offsets.js';

/**
 * The lag monitor's state between polls and the arithmetic of one poll, with
 * no I/O: the monitor reads the cluster and PostgreSQL, this turns readings
 * into a snapshot. Keeps per partition the log-end samples (interpolation,
 * Burrow's broker offsets) and the commit windows (Burrow's rules).
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

interface PartitionHistory {
  kafka: CommitSample[];
  stored: CommitSample[];
  storedUpdatedAtMs: number | undefined;
  disagreeSinceMs: number | undefined;
}

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
      h = { kafka: [], stored: [], storedUpdatedAtMs: undefined, disagreeSinceMs: undefined };
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
    for (const g of readings.groups) for (const c of g.committed) want(c.topic, c.partition, c.offset);
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

      const lagOf = (topic: string, partition: number, offset: number) => {
        const ends = readings.ends.get(topic)?.get(partition);
        if (!ends) return undefined;
        const position = Math.max(offset, ends.earliest);
        const probe = known(ranges.get(tpKey(topic, partition)), position);
        return { ends, value: partitionLag(offset, ends, nowMs, tables.get(tpKey(topic, partition)), probe) };
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

      const groups: GroupLag[] = [];
      for (const name of [...groupNames].sort()) {
        const reading = readingByGroup.get(name);
        const stored = storedByGroup.get(name) ?? [];
        const partitions = new Map<string, PartitionLag & { topic: string }>();
        const kafkaStatuses: LabelledPartitionStatus[] = [];
        const storedStatuses: LabelledPartitionStatus[] = [];

        for (const c of reading?.committed ?? []) {
          const r = lagOf(c.topic, c.partition, c.offset);
          if (!r) continue;
          const h = history(name, c.topic, c.partition);
          const last = h.kafka[h.kafka.length - 1];
          // Polling cannot see commits of an unchanged offset: a live member is
          // taken to be committing (→ STALL when stuck), an empty group not (→ STOP).
          if (!last || last.offset !== c.offset || (reading?.members ?? 0) > 0) {
            h.kafka = recordCommit(h.kafka, { offset: c.offset, timestampMs: nowMs, lag: r.value.lag }, settings);
          }
          const st = evaluatePartition(
            { commits: h.kafka, logEndOffsets: recentEnds(c.topic, c.partition), currentLag: r.value.lag, nowMs },
            settings,
          );
          kafkaStatuses.push({ ...st, topic: c.topic, partition: c.partition });
          partitions.set(tpKey(c.topic, c.partition), {
            topic: c.topic,
            partition: c.partition,
            logStartOffset: r.ends.earliest,
            logEndOffset: r.ends.latest,
            committedOffset: c.offset,
            lag: r.value.lag,
            lagSeconds: r.value.lagSeconds,
            lagSecondsMethod: r.value.lagSecondsMethod,
            status: st.status,
            reason: st.reason,
            stored: null,
          });
        }

        for (const s of stored) {
          const r = lagOf(s.topic, s.partition, s.nextOffset);
          if (!r) continue;
          const h = history(name, s.topic, s.partition);
          if (h.storedUpdatedAtMs !== s.updatedAtMs) {
            // PostgreSQL tells the real commit time, so the window is exact here.
            h.stored = recordCommit(h.stored, { offset: s.nextOffset, timestampMs: s.updatedAtMs, lag: r.value.lag }, settings);
            h.storedUpdatedAtMs = s.updatedAtMs;
          }
          const st = evaluatePartition(
            { commits: h.stored, logEndOffsets: recentEnds(s.topic, s.partition), currentLag: r.value.lag, nowMs },
            settings,
          );
          storedStatuses.push({ ...st, topic: s.topic, partition: s.partition });
          const key = tpKey(s.topic, s.partition);
          const p =
            partitions.get(key) ??
            ({
              topic: s.topic,
              partition: s.partition,
              logStartOffset: r.ends.earliest,
              logEndOffset: r.ends.latest,
              committedOffset: null,
              lag: null,
              lagSeconds: null,
              lagSecondsMethod: null,
              status: null,
              reason: null,
              stored: null,
            } satisfies PartitionLag & { topic: string });
          const differs = p.committedOffset !== null && p.committedOffset !== s.nextOffset;
          if (!differs) h.disagreeSinceMs = undefined;
          else h.disagreeSinceMs ??= nowMs;
          p.stored = {
            offset: s.nextOffset,
            updatedAt: new Date(s.updatedAtMs).toISOString(),
            lag: r.value.lag,
            lagSeconds: r.value.lagSeconds,
            disagree: h.disagreeSinceMs !== undefined && nowMs - h.disagreeSinceMs >= disagreementGraceMs,
          };
          partitions.set(key, p);
        }

        groups.push(groupLag(name, readings.retentionMs, reading, [...partitions.values()], kafkaStatuses, storedStatuses));
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
