import type { Logger } from '../shared/logger.js';
import { errorMessage } from '../shared/errors.js';
import type { ProbeResult } from '../monitor/lag-calc.js';
import type { LogClient } from './port.js';
import { committedRecords, rawClusterOf } from './record-fetcher.js';

/**
 * Reads, for many partitions at once, the first committed data record at or
 * after an offset: one read_committed Fetch request per partition leader per
 * poll, no consumer group, nothing committed.
 *
 * kafkajs offers no public "fetch at offset" outside a consumer group, so the
 * probe uses the client's internal Cluster/Broker objects through
 * record-fetcher.ts (one Fetch per leader for many partitions here, where the
 * fetcher reads one partition at a time). When the client has no such
 * surface (another KafkaJS-compatible client), {@link createRecordProbe}
 * returns undefined and the monitor falls back to interpolation without
 * phantom-lag detection. Any fetch error leaves those partitions without a
 * result rather than failing the poll.
 */
export interface RecordProbe {
  /** The fetched ranges, by `tpKey(topic, partition)`; partitions whose fetch failed are absent. */
  probe(requests: readonly ProbeRequest[]): Promise<Map<string, ProbeRange[]>>;
  close(): Promise<void>;
}

/**
 * What one fetch proved about a partition: its committed data records (offset
 * and timestamp, ascending) from `fromOffset` up to `examinedUpTo`
 * (exclusive), markers and aborted records left out. A fetch returns whole
 * batches, so one range usually answers for many later positions too: the
 * monitor keeps it and fetches again only when a position leaves it.
 */
export interface ProbeRange {
  fromOffset: number;
  records: { offset: number; timestampMs: number }[];
  examinedUpTo: number;
}

export const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** The answer a range gives for a position, or undefined when the position is outside it. */
export function resolveProbe(range: ProbeRange, position: number): ProbeResult | undefined {
  if (position < range.fromOffset || position > range.examinedUpTo) return undefined;
  let lo = 0;
  let hi = range.records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((range.records[mid] as { offset: number }).offset < position) lo = mid + 1;
    else hi = mid;
  }
  const r = range.records[lo];
  return r ? { kind: 'data', offset: r.offset, timestampMs: r.timestampMs } : { kind: 'none', checkedUpTo: range.examinedUpTo };
}

export interface ProbeRequest {
  topic: string;
  partition: number;
  offset: number;
}

export function createRecordProbe({
  kafka,
  logger,
  maxBytesPerPartition = 64 * 1024,
}: {
  kafka: LogClient;
  logger: Logger;
  maxBytesPerPartition?: number;
}): RecordProbe | undefined {
  let cluster: ReturnType<typeof rawClusterOf>;
  try {
    cluster = rawClusterOf(kafka);
  } catch {
    return undefined; // not kafkajs: interpolation only
  }
  if (!cluster) return undefined;
  const c = cluster;
  let connected: Promise<void> | undefined;
  const knownTopics = new Set<string>();

  async function probe(requests: readonly ProbeRequest[]): Promise<Map<string, ProbeRange[]>> {
    const out = new Map<string, ProbeRange[]>();
    if (requests.length === 0) return out;
    connected ??= c.connect();
    await connected;
    // A Fetch names each partition once: several positions on one partition take several rounds.
    let pending = [...requests].sort((a, b) => a.offset - b.offset);
    for (let round = 0; round < 3 && pending.length > 0; round++) {
      const batch = new Map<string, ProbeRequest>();
      const later: ProbeRequest[] = [];
      for (const r of pending) {
        const key = tpKey(r.topic, r.partition);
        const got = out.get(key)?.some((range) => resolveProbe(range, r.offset) !== undefined);
        if (got) continue;
        if (batch.has(key)) later.push(r);
        else batch.set(key, r);
      }
      const ranges = await fetchRound([...batch.values()]);
      for (const [key, range] of ranges) out.set(key, [...(out.get(key) ?? []), range]);
      pending = later;
    }
    return out;
  }

  async function fetchRound(requests: readonly ProbeRequest[]): Promise<Map<string, ProbeRange>> {
    const out = new Map<string, ProbeRange>();
    if (requests.length === 0) return out;
    const topics = [...new Set(requests.map((r) => r.topic))];
    if (topics.some((t) => !knownTopics.has(t))) {
      await c.addMultipleTargetTopics(topics);
      for (const t of topics) knownTopics.add(t);
    }
    // Group the requested partitions by leader: one Fetch per broker.
    const perBroker = new Map<string, ProbeRequest[]>();
    for (const topic of topics) {
      const reqs = requests.filter((r) => r.topic === topic);
      const leaders = c.findLeaderForPartitions(
        topic,
        reqs.map((r) => r.partition),
      );
      for (const [nodeId, partitions] of Object.entries(leaders)) {
        const list = perBroker.get(nodeId) ?? [];
        for (const r of reqs) if (partitions.includes(r.partition)) list.push(r);
        perBroker.set(nodeId, list);
      }
    }
    await Promise.all(
      [...perBroker].map(async ([nodeId, reqs]) => {
        try {
          const broker = await c.findBroker({ nodeId });
          const byTopic = new Map<string, ProbeRequest[]>();
          for (const r of reqs) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r]);
          const res = await broker.fetch({
            replicaId: -1,
            isolationLevel: 1, // read_committed
            maxWaitTime: 0,
            minBytes: 0,
            maxBytes: maxBytesPerPartition * reqs.length,
            topics: [...byTopic].map(([topic, rs]) => ({
              topic,
              partitions: rs.map((r) => ({ partition: r.partition, fetchOffset: String(r.offset), maxBytes: maxBytesPerPartition })),
            })),
          });
          for (const t of res.responses) {
            for (const p of t.partitions) {
              const req = reqs.find((r) => r.topic === t.topicName && r.partition === p.partition);
              if (!req || p.errorCode !== 0) continue;
              out.set(tpKey(req.topic, req.partition), scanFetched(req.offset, p));
            }
          }
        } catch (err) {
          // Stale leadership, a deleted topic, an unsupported codec: these
          // partitions fall back to interpolation for this poll.
          logger.debug({ err: errorMessage(err), nodeId }, 'record probe fetch failed');
          await c.refreshMetadata().catch(() => undefined);
        }
      }),
    );
    return out;
  }

  return {
    probe,
    async close() {
      if (connected) await connected.then(() => c.disconnect()).catch(() => undefined);
    },
  };
}

/** Data records kept per range: enough for the next polls, bounded for huge batches. */
const MAX_RECORDS_PER_RANGE = 10_000;

/**
 * The committed data records of a raw fetch from `fetchOffset` on (aborted
 * records and markers left out: record-fetcher.ts `committedRecords`), as a
 * range that answers for every position up to where the fetch reached.
 */
interface ProbeRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  isControlRecord: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}

export function scanFetched(
  fetchOffset: number,
  p: { lastStableOffset: string; abortedTransactions?: { producerId: string; firstOffset: string }[]; messages: ProbeRecord[] },
): ProbeRange {
  const { records, lastSeen } = committedRecords(fetchOffset, p);
  const kept = records.slice(0, MAX_RECORDS_PER_RANGE).map((m) => ({ offset: Number(m.offset), timestampMs: Number(m.timestamp) }));
  // Records past the bound are not known here: the range ends at the first one left out.
  const cut = records[MAX_RECORDS_PER_RANGE];
  // If the fetch stopped early (size limit), only what it returned is known; an empty answer means nothing consumable up to the LSO.
  const examinedUpTo = cut ? Number(cut.offset) : lastSeen >= 0 ? lastSeen + 1 : Math.max(fetchOffset, Number(p.lastStableOffset));
  return { fromOffset: fetchOffset, records: kept, examinedUpTo };
}
