import { PipelineError } from '../shared/errors.js';
import { kafkajsOf } from './kafka.js';
import type { LogClient } from './port.js';

/**
 * Reads committed records at given offsets without a consumer group: one
 * read_committed Fetch per partition, nothing joined, nothing committed.
 * Consumers use it to check, before reading on from a stored offset, that the
 * record stored with it is still there (consumers/offset-witness.ts); the
 * offsets command uses it to witness the positions it sets.
 *
 * kafkajs offers no public "fetch at offset" outside a consumer group, so this
 * uses the client's internal Cluster/Broker objects, the same ones its admin
 * client uses (kafkajs 2.2.4 is its final release: the surface does not move).
 * The shape is checked at construction; a client without it throws
 * KAFKA_CLIENT_UNSUPPORTED rather than letting a check pass unverified.
 */
export interface FetchedRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

export interface RecordFetcher {
  /**
   * The first committed data record at or after `offset` (markers and aborted
   * records skipped), or null when the partition holds none up to its last
   * stable offset. Throws when the partition cannot be read (retriable).
   */
  firstAtOrAfter(topic: string, partition: number, offset: number): Promise<FetchedRecord | null>;
  /**
   * The last committed data record below `offset` and at or above `from`, or
   * null when there is none (reads backwards in growing steps).
   */
  lastBefore(topic: string, partition: number, offset: number, from: number): Promise<FetchedRecord | null>;
  close(): Promise<void>;
}

interface RawRecord extends FetchedRecord {
  isControlRecord: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}
interface RawPartition {
  partition: number;
  errorCode: number;
  lastStableOffset: string;
  abortedTransactions?: { producerId: string; firstOffset: string }[];
  messages: RawRecord[];
}
interface RawBroker {
  fetch(request: {
    replicaId?: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{ responses: { topicName: string; partitions: RawPartition[] }[] }>;
}
interface RawCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(options: { nodeId: string }): Promise<RawBroker>;
}

const READ_COMMITTED = 1;
const CREATE_CLUSTER = 'private:Kafka:createCluster';
const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

function isRawCluster(x: unknown): x is RawCluster {
  if (typeof x !== 'object' || x === null) return false;
  return ['connect', 'disconnect', 'addMultipleTargetTopics', 'refreshMetadata', 'findLeaderForPartitions', 'findBroker'].every(
    (m) => typeof Reflect.get(x, m) === 'function',
  );
}

/** The client's internal cluster for raw fetches, or undefined when the client has none of that shape. */
export function rawClusterOf(client: LogClient): RawCluster | undefined {
  const kafka = kafkajsOf(client);
  const sym = Object.getOwnPropertySymbols(kafka).find((s) => s.description === CREATE_CLUSTER);
  const factory: unknown = sym === undefined ? undefined : Reflect.get(kafka, sym);
  if (typeof factory !== 'function') return undefined;
  const cluster: unknown = factory({ allowAutoTopicCreation: false, isolationLevel: READ_COMMITTED });
  return isRawCluster(cluster) ? cluster : undefined;
}

/**
 * The committed data records of one fetched partition from `fetchOffset` on,
 * filtered like a read_committed consumer (kafkajs filterAbortedMessages, the
 * Java Fetcher): the broker returns whole batches, aborted ones included, and
 * says which producers aborted where.
 */
export function committedRecords<R extends Pick<RawRecord, 'offset' | 'key' | 'isControlRecord' | 'batchContext'>>(
  fetchOffset: number,
  p: { abortedTransactions?: { producerId: string; firstOffset: string }[] | undefined; messages: R[] },
): { records: R[]; lastSeen: number } {
  const pending = [...(p.abortedTransactions ?? [])].sort((a, b) => Number(a.firstOffset) - Number(b.firstOffset));
  const aborting = new Set<string>();
  const records: R[] = [];
  let lastSeen = -1;
  for (const m of p.messages) {
    const offset = Number(m.offset);
    while (pending.length > 0 && offset >= Number(pending[0]!.firstOffset)) aborting.add(pending.shift()!.producerId);
    if (offset < fetchOffset) continue; // batches start before the requested offset
    const { producerId, inTransaction } = m.batchContext;
    if (m.isControlRecord) {
      if (m.key && Buffer.from(m.key).equals(ABORT_MARKER_KEY)) aborting.delete(producerId);
    } else if (!(inTransaction && aborting.has(producerId))) {
      records.push(m);
    }
    lastSeen = offset;
  }
  return { records, lastSeen };
}

export function createRecordFetcher({ kafka, maxBytes = 256 * 1024 }: { kafka: LogClient; maxBytes?: number }): RecordFetcher {
  const cluster = rawClusterOf(kafka);
  if (!cluster) {
    throw new PipelineError('KAFKA_CLIENT_UNSUPPORTED', 'the Kafka client offers no raw fetch: stored offsets cannot be verified against the topic');
  }
  const c = cluster;
  let connected: Promise<void> | undefined;
  const knownTopics = new Set<string>();

  /** Committed data records from `offset` up to where one fetch reached (`upTo`, exclusive). */
  async function fetchRange(topic: string, partition: number, offset: number): Promise<{ records: FetchedRecord[]; upTo: number }> {
    connected ??= c.connect().catch((err: unknown) => {
      connected = undefined;
      throw err;
    });
    await connected;
    if (!knownTopics.has(topic)) {
      await c.addMultipleTargetTopics([topic]);
      knownTopics.add(topic);
    }
    const leaders = c.findLeaderForPartitions(topic, [partition]);
    const nodeId = Object.keys(leaders).find((n) => leaders[n]!.includes(partition));
    if (nodeId === undefined) {
      await c.refreshMetadata().catch(() => undefined);
      throw new PipelineError('KAFKA_NO_LEADER', `no leader known for ${topic}/${partition}`, { retriable: true });
    }
    try {
      const broker = await c.findBroker({ nodeId });
      const res = await broker.fetch({
        replicaId: -1,
        isolationLevel: READ_COMMITTED,
        maxWaitTime: 0,
        minBytes: 0,
        maxBytes,
        topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes }] }],
      });
      const p = res.responses.find((t) => t.topicName === topic)?.partitions.find((x) => x.partition === partition);
      if (!p) throw new PipelineError('KAFKA_FETCH', `no answer for ${topic}/${partition}`, { retriable: true });
      if (p.errorCode !== 0) throw new PipelineError('KAFKA_FETCH', `fetch of ${topic}/${partition} at ${offset} failed with error code ${p.errorCode}`, { retriable: true });
      const { records, lastSeen } = committedRecords(offset, p);
      return { records, upTo: lastSeen >= 0 ? lastSeen + 1 : Math.max(offset, Number(p.lastStableOffset)) };
    } catch (err) {
      // Stale leadership or a recreated topic: the next call reads fresh metadata.
      await c.refreshMetadata().catch(() => undefined);
      if (err instanceof PipelineError) throw err;
      throw new PipelineError('KAFKA_FETCH', `fetch of ${topic}/${partition} at ${offset} failed: ${String(err)}`, { retriable: true, cause: err });
    }
  }

  async function firstAtOrAfter(topic: string, partition: number, offset: number): Promise<FetchedRecord | null> {
    // A fetch can end in a run of aborted records or markers: read on until a record or the stable end.
    for (let at = offset; ; ) {
      const { records, upTo } = await fetchRange(topic, partition, at);
      if (records.length > 0) return records[0]!;
      if (upTo <= at) return null;
      at = upTo;
    }
  }

  async function lastBefore(topic: string, partition: number, offset: number, from: number): Promise<FetchedRecord | null> {
    for (let step = 16; ; step *= 4) {
      const start = Math.max(from, offset - step);
      let found: FetchedRecord | null = null;
      for (let at = start; at < offset; ) {
        const { records, upTo } = await fetchRange(topic, partition, at);
        for (const r of records) if (Number(r.offset) < offset) found = r;
        if (upTo <= at) break;
        at = upTo;
      }
      if (found || start === from) return found;
    }
  }

  return {
    firstAtOrAfter,
    lastBefore,
    async close() {
      if (connected) await connected.then(() => c.disconnect()).catch(() => undefined);
      connected = undefined;
    },
  };
}
