import type { Kafka } from 'kafkajs';
import type { Logger } from '../shared/logger.js';
import { errorMessage } from '../shared/errors.js';
import type { ProbeResult } from './lag-calc.js';

/**
 * Reads, for many partitions at once, the first committed data record at or
 * after an offset: one read_committed Fetch request per partition leader per
 * poll, no consumer group, nothing committed.
 *
 * kafkajs offers no public "fetch at offset" outside a consumer group, so the
 * probe uses the client's internal Cluster/Broker objects (the same ones its
 * admin client uses). kafkajs 2.2.4 is the project's final release, so that
 * surface does not move; the shape is checked at run time and, when it does
 * not match (another KafkaJS-compatible client), {@link createRecordProbe}
 * returns undefined and the monitor falls back to interpolation without
 * phantom-lag detection. Any fetch error leaves those partitions without a
 * result rather than failing the poll.
 */
export interface RecordProbe {
  probe(requests: readonly ProbeRequest[]): Promise<Map<string, ProbeResult>>;
  close(): Promise<void>;
}

export interface ProbeRequest {
  topic: string;
  partition: number;
  offset: number;
}

export const probeKey = (topic: string, partition: number, offset: number): string => `${topic}\u0000${partition}\u0000${offset}`;

// The few internals used, typed loosely and checked before use.
interface FetchedRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  isControlRecord: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}
interface FetchedPartition {
  partition: number;
  errorCode: number;
  lastStableOffset: string;
  abortedTransactions?: { producerId: string; firstOffset: string }[];
  messages: FetchedRecord[];
}
interface ProbeBroker {
  fetch(request: {
    replicaId?: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{ responses: { topicName: string; partitions: FetchedPartition[] }[] }>;
}
interface ProbeCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(options: { nodeId: string }): Promise<ProbeBroker>;
}

const READ_COMMITTED = 1;
const CREATE_CLUSTER = 'private:Kafka:createCluster';

function isProbeCluster(x: unknown): x is ProbeCluster {
  if (typeof x !== 'object' || x === null) return false;
  return ['connect', 'disconnect', 'addMultipleTargetTopics', 'refreshMetadata', 'findLeaderForPartitions', 'findBroker'].every(
    (m) => typeof Reflect.get(x, m) === 'function',
  );
}

export function createRecordProbe({
  kafka,
  logger,
  maxBytesPerPartition = 64 * 1024,
}: {
  kafka: Kafka;
  logger: Logger;
  maxBytesPerPartition?: number;
}): RecordProbe | undefined {
  const sym = Object.getOwnPropertySymbols(kafka).find((s) => s.description === CREATE_CLUSTER);
  const factory: unknown = sym === undefined ? undefined : Reflect.get(kafka, sym);
  if (typeof factory !== 'function') return undefined;
  const cluster: unknown = factory({ allowAutoTopicCreation: false, isolationLevel: READ_COMMITTED });
  if (!isProbeCluster(cluster)) return undefined;
  const c = cluster;
  let connected: Promise<void> | undefined;
  const knownTopics = new Set<string>();

  async function probe(requests: readonly ProbeRequest[]): Promise<Map<string, ProbeResult>> {
    const out = new Map<string, ProbeResult>();
    if (requests.length === 0) return out;
    connected ??= c.connect();
    await connected;
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
            isolationLevel: READ_COMMITTED,
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
              out.set(probeKey(req.topic, req.partition, req.offset), firstDataRecord(req.offset, p));
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

const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

/**
 * The broker returns whole batches, aborted transactional records included
 * (the client is told which via `abortedTransactions`): filter like a
 * read_committed consumer does (kafkajs filterAbortedMessages, Java Fetcher).
 */
export function firstDataRecord(fetchOffset: number, p: Pick<FetchedPartition, 'lastStableOffset' | 'abortedTransactions' | 'messages'>): ProbeResult {
  const pending = [...(p.abortedTransactions ?? [])].sort((a, b) => Number(a.firstOffset) - Number(b.firstOffset));
  const aborting = new Set<string>();
  let lastSeen = -1;
  for (const m of p.messages) {
    const offset = Number(m.offset);
    while (pending.length > 0 && offset >= Number((pending[0] as { firstOffset: string }).firstOffset)) {
      aborting.add((pending.shift() as { producerId: string }).producerId);
    }
    if (offset < fetchOffset) continue; // batches start before the requested offset
    lastSeen = offset;
    const { producerId, inTransaction } = m.batchContext;
    if (m.isControlRecord) {
      if (m.key && Buffer.from(m.key).equals(ABORT_MARKER_KEY)) aborting.delete(producerId);
      continue;
    }
    if (inTransaction && aborting.has(producerId)) continue;
    return { kind: 'data', offset, timestampMs: Number(m.timestamp) };
  }
  // Nothing consumable. If the fetch stopped early (size limit), only the
  // records it returned are proven empty; otherwise everything up to the LSO.
  const lso = Number(p.lastStableOffset);
  const checkedUpTo = p.messages.length > 0 && lastSeen + 1 < lso ? lastSeen + 1 : Math.max(fetchOffset, lso);
  return { kind: 'none', checkedUpTo };
}
