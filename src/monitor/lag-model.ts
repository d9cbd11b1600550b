import {
  defaultBurrowSettings,
  evaluateGroup,
  evaluatePartition,
  recordCommit,
  type BurrowSettings,
  type CommitSample,
  type LabelledPartitionStatus,
} from './burrow.js';
import { partitionLag, type PartitionEnds, type ProbeResult } from './lag-calc.js';
import type { GroupLag, GroupTopicLag, LagSnapshot, PartitionLag, StatusJson, ViewFreshness } from './lag-snapshot.js';
import { createOffsetTimeTable, type OffsetTimeTable } from './offset-time-table.js';
import { probeKey, type ProbeRequest } from './record-probe.js';
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
  update(readings: PollReadings, nowMs: number, probes: ReadonlyMap<string, ProbeResult>, pollDurationMs: number): LagSnapshot;
}

interface PartitionHistory {
  kafka: CommitSample[];
  stored: CommitSample[];
  storedUpdatedAtMs: number | undefined;
  disagreeSinceMs: number | undefined;
}

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export function createLagModel({
  clusterName,
  burrow = {},
  tableCapacity = 60,
  disagreementGraceMs = 30_000,
}: LagModelOptions): LagModel {
  const settings: BurrowSettings = { ...defaultBurrowSettings, ...burrow };
  const tables = new Map<string, OffsetTimeTable>();
  const histories = new Map<string, PartitionHistory>();
  let probeCache = new Map<string, ProbeResult>();

  const history = (group: string, topic: string, partition: number): PartitionHistory => {
    const key = `${group}\u0000${tpKey(topic, partition)}`;
    let h = histories.get(key);
    if (!h) {
      h = { kafka: [], stored: [], storedUpdatedAtMs: undefined, disagreeSinceMs: undefined };
      histories.set(key, h);
    }
    return h;
  };

  /** Positions to probe: every lagging (topic, partition, position) whose cached answer may be stale. */
  function wanted(readings: PollReadings): ProbeRequest[] {
    const seen = new Map<string, ProbeRequest>();
    const want = (topic: string, partition: number, offset: number) => {
      const ends = readings.ends.get(topic)?.get(partition);
      if (!ends) return;
      const position = Math.max(offset, ends.earliest);
      if (position >= ends.latest) return;
      seen.set(probeKey(topic, partition, position), { topic, partition, offset: position });
    };
    for (const g of readings.groups) for (const c of g.committed) want(c.topic, c.partition, c.offset);
    for (const s of readings.stored) want(s.topic, s.partition, s.nextOffset);
    return [...seen.values()];
  }

  function cachedValid(r: ProbeRequest, readings: PollReadings): boolean {
    const hit = probeCache.get(probeKey(r.topic, r.partition, r.offset));
    if (!hit) return false;
    // A data record at an offset never changes; "nothing but markers up to X" holds until the log grows past X.
    if (hit.kind === 'data') return true;
    const latest = readings.ends.get(r.topic)?.get(r.partition)?.latest ?? Infinity;
    return hit.checkedUpTo >= latest;
  }

  return {
    probeRequests: (readings) => wanted(readings).filter((r) => !cachedValid(r, readings)),

    update(readings, nowMs, probes, pollDurationMs) {
      const nextCache = new Map<string, ProbeResult>();
      for (const r of wanted(readings)) {
        const key = probeKey(r.topic, r.partition, r.offset);
        const v = probes.get(key) ?? (cachedValid(r, readings) ? probeCache.get(key) : undefined);
        if (v) nextCache.set(key, v);
      }
      probeCache = nextCache;

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
        const probe = probeCache.get(probeKey(topic, partition, position));
        return { ends, value: partitionLag(offset, ends, nowMs, tables.get(tpKey(topic, partition)), probe) };
      };
      const recentEnds = (topic: string, partition: number) =>
        tables.get(tpKey(topic, partition))?.recentOffsets(settings.intervals) ?? [];

      const storedByGroup = new Map<string, StoredOffset[]>();
      for (const s of readings.stored) storedByGroup.set(s.group, [...(storedByGroup.get(s.group) ?? []), s]);
      const groupNames = new Set([...readings.groups.map((g) => g.group), ...storedByGroup.keys()]);

      const groups: GroupLag[] = [];
      for (const name of [...groupNames].sort()) {
        const reading = readings.groups.find((g) => g.group === name);
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

        groups.push(groupLag(name, reading, [...partitions.values()], kafkaStatuses, storedStatuses));
      }

      return {
        clusterName,
        polledAt: new Date(nowMs).toISOString(),
        pollDurationMs,
        groups,
        topics: [...readings.ends]
          .map(([topic, parts]) => ({
            topic,
            partitions: [...parts]
              .map(([partition, e]) => ({ partition, earliest: e.earliest, latest: e.latest }))
              .sort((a, b) => a.partition - b.partition),
          }))
          .sort((a, b) => a.topic.localeCompare(b.topic)),
        views: readings.views.map((v) => viewFreshness(v, nowMs)),
        errors: readings.errors,
      };
    },
  };
}

function groupLag(
  name: string,
  reading: GroupReading | undefined,
  partitions: (PartitionLag & { topic: string })[],
  kafkaStatuses: LabelledPartitionStatus[],
  storedStatuses: LabelledPartitionStatus[],
): GroupLag {
  const byTopic = new Map<string, GroupTopicLag>();
  let maxLag = 0;
  let maxLagSeconds = 0;
  let sumLag = 0;
  for (const { topic, ...p } of partitions.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)) {
    let t = byTopic.get(topic);
    if (!t) byTopic.set(topic, (t = { topic, sumLag: 0, partitions: [] }));
    t.partitions.push(p);
    if (p.lag !== null) {
      t.sumLag += p.lag;
      sumLag += p.lag;
      maxLag = Math.max(maxLag, p.lag);
      maxLagSeconds = Math.max(maxLagSeconds, p.lagSeconds ?? 0);
    }
  }
  return {
    group: name,
    state: reading?.state ?? 'Unknown',
    members: reading?.members ?? 0,
    isSimpleConsumer: reading?.isSimpleConsumer ?? false,
    maxLag,
    maxLagSeconds,
    sumLag,
    status: statusJson(kafkaStatuses),
    storedStatus: statusJson(storedStatuses),
    topics: [...byTopic.values()],
  };
}

function statusJson(statuses: LabelledPartitionStatus[]): StatusJson | null {
  if (statuses.length === 0) return null;
  const g = evaluateGroup(statuses);
  return { status: g.status, burrowStatus: g.burrowStatus, reason: g.reason, detail: g.detail, complete: g.complete };
}

function viewFreshness(v: ViewFreshnessRow, nowMs: number): ViewFreshness {
  return {
    view: v.view,
    group: v.group,
    lastSourceTime: v.lastSourceTimeMs === null ? null : new Date(v.lastSourceTimeMs).toISOString(),
    lastCommitTime: v.lastCommitTimeMs === null ? null : new Date(v.lastCommitTimeMs).toISOString(),
    freshnessSeconds: v.lastSourceTimeMs === null ? null : Math.max(0, (nowMs - v.lastSourceTimeMs) / 1000),
  };
}
