import { connect } from 'node:net';
import type { Admin } from 'kafkajs';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand } from '@aws-sdk/client-dynamodb-streams';
import { config, dynamo, dynamoStreams } from './stack.js';

/**
 * Where the roles of a Kafka cluster sit, asked of the brokers themselves, so
 * that the fault suite can kill the broker that matters: the leaders of a
 * topic's partitions, and the coordinators of consumer groups and
 * transactional ids.
 *
 * kafkajs has no public FindCoordinator (it resolves coordinators inside its
 * admin and producer), and the stack's Kafka libs have no CLI tools, so the
 * coordinator is asked with one raw FindCoordinator v1 request — the same
 * request `kafka-consumer-groups.sh --describe --state` and
 * `kafka-transactions.sh describe` send.
 */

export type CoordinatorType = 'group' | 'transaction';

const FIND_COORDINATOR = 10;
/** COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS: ask again. */
const RETRY_CODES = new Set([14, 15, 16]);

function encodeFindCoordinator(correlationId: number, key: string, type: CoordinatorType): Buffer {
  const clientId = Buffer.from('fault-suite');
  const k = Buffer.from(key);
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 2 + k.length + 1);
  let o = 0;
  o = body.writeInt16BE(FIND_COORDINATOR, o);
  o = body.writeInt16BE(1, o); // version 1: key + key_type, not yet flexible
  o = body.writeInt32BE(correlationId, o);
  o = body.writeInt16BE(clientId.length, o);
  o += clientId.copy(body, o);
  o = body.writeInt16BE(k.length, o);
  o += k.copy(body, o);
  body.writeInt8(type === 'group' ? 0 : 1, o);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

function decodeFindCoordinator(frame: Buffer): { errorCode: number; nodeId: number } {
  let o = 4; // correlation id
  o += 4; // throttle_time_ms
  const errorCode = frame.readInt16BE(o);
  o += 2;
  const msgLen = frame.readInt16BE(o);
  o += 2 + Math.max(0, msgLen);
  return { errorCode, nodeId: frame.readInt32BE(o) };
}

function request(broker: string, payload: Buffer, timeoutMs = 5000): Promise<Buffer> {
  const [host, port] = broker.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: Number(port) });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(new Error(`no answer from ${broker} within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        clearTimeout(timer);
        socket.end();
        resolve(buf.subarray(4, 4 + buf.readInt32BE(0)));
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** The node id of the broker coordinating a consumer group or a transactional id (asks each live broker until one answers). */
export async function findCoordinator(key: string, type: CoordinatorType, brokers = config.kafkaBrokers, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (let attempt = 1; Date.now() < deadline; attempt++) {
    for (const broker of brokers) {
      try {
        const { errorCode, nodeId } = decodeFindCoordinator(await request(broker, encodeFindCoordinator(attempt, key, type)));
        if (errorCode === 0) return nodeId;
        last = `error code ${errorCode} from ${broker}`;
        if (!RETRY_CODES.has(errorCode)) throw new Error(`FindCoordinator(${type} ${key}): ${last}`);
      } catch (err) {
        if (String(err).includes('FindCoordinator(')) throw err;
        last = String(err);
      }
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no coordinator for ${type} ${key} within ${timeoutMs} ms: ${last}`);
}

/**
 * Waits until the cluster is whole again: every broker of the bootstrap list
 * registered, and every partition of the internal topics (group offsets,
 * transaction state) led and fully in sync. A cluster test that kills brokers
 * leaves the cluster healing behind it; the next one must not start on that
 * (a topic created with the default replication factor 3 while a broker is
 * still away fails, and a coordinator found then moves again).
 */
export async function untilClusterWhole(admin: Admin, brokers = config.kafkaBrokers.length, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const { brokers: live } = await admin.describeCluster();
      const internal = (await admin.listTopics()).filter((t) => t === '__consumer_offsets' || t === '__transaction_state');
      const md = internal.length === 0 ? { topics: [] } : await admin.fetchTopicMetadata({ topics: internal });
      const lagging = md.topics.flatMap((t) =>
        t.partitions.filter((p) => p.leader < 0 || p.isr.length < p.replicas.length).map((p) => `${t.name}-${p.partitionId}`),
      );
      if (live.length >= brokers && lagging.length === 0) return;
      last = `${live.length} of ${brokers} brokers registered; partitions not led or not in sync: ${lagging.slice(0, 5).join(', ')}${lagging.length > 5 ? ', …' : ''}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`the cluster is not whole after ${timeoutMs} ms: ${last}`);
}

/** Partitions led per node id for a topic. */
export async function leadersOf(admin: Admin, topic: string): Promise<Map<number, number[]>> {
  const md = await admin.fetchTopicMetadata({ topics: [topic] });
  const leaders = new Map<number, number[]>();
  for (const p of md.topics[0]?.partitions ?? []) leaders.set(p.leader, [...(leaders.get(p.leader) ?? []), p.partitionId]);
  return leaders;
}

/**
 * The bridge's transactional ids for a table's open shards
 * (`cdc-bridge.<table>.<shardId>`, see src/source/bridge.ts): the ones whose
 * coordinator a relaying bridge is talking to.
 */
export async function bridgeTransactionalIds(table: string, prefix = 'cdc-bridge'): Promise<string[]> {
  const ddb = dynamo();
  const streams = dynamoStreams();
  try {
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: table }));
    const arn = Table?.LatestStreamArn;
    if (!arn) throw new Error(`table ${table} has no stream`);
    const ids: string[] = [];
    let start: string | undefined;
    do {
      const { StreamDescription: d } = await streams.send(new DescribeStreamCommand({ StreamArn: arn, ExclusiveStartShardId: start }));
      for (const s of d?.Shards ?? []) if (!s.SequenceNumberRange?.EndingSequenceNumber) ids.push(`${prefix}.${table}.${s.ShardId!}`);
      start = d?.LastEvaluatedShardId;
    } while (start);
    return ids;
  } finally {
    ddb.destroy();
    streams.destroy();
  }
}
