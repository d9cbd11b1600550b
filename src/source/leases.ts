import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  PutItemCommand,
  ResourceNotFoundException,
  ScanCommand,
  UpdateItemCommand,
  waitUntilTableExists,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { Logger } from '../shared/logger.js';

/**
 * Shard leases shared by the bridge processes of one table, in a DynamoDB
 * table (`<table>-leases`). DynamoDB because it is the source's own store —
 * the bridge already depends on it, it offers conditional writes, and it is
 * where the KCL keeps the same kind of lease — so no extra system has to be
 * up for the bridge to run.
 *
 * One item per shard: leaseOwner, leaseCounter (bumped by every renewal),
 * leaseEpoch (bumped by every change of owner; written into checkpoints) and
 * shardEnded. Every write is conditional on the counter the writer last saw,
 * so two workers can never both believe they took the same lease.
 * Expiry is judged like the KCL: a lease whose counter has not moved for
 * `durationMs` by *this* worker's clock is expired — no cross-host clock
 * comparison. Fencing does not rely on timing alone: a new owner initialises
 * the shard's transactional producer, which fences the old owner in Kafka.
 */
export interface LeaseState {
  shardId: string;
  owner: string | undefined;
  counter: number;
  epoch: number;
  shardEnded: boolean;
}

export interface LeaseManager {
  readonly workerId: string;
  ensureTable(): Promise<void>;
  /**
   * One round: renew held leases, take unowned or expired ones, and steal at
   * most one from the busiest worker when below the fair share of
   * `candidates` (the shards that are readable now). Returns held shard ids.
   */
  sync(candidates: readonly string[]): Promise<Set<string>>;
  /** Held and renewed recently enough that no other worker can have taken it. */
  holds(shardId: string): boolean;
  epoch(shardId: string): number;
  /** Marks the shard finished (nobody will lease it again) and drops it. */
  finish(shardId: string): Promise<void>;
  /** Gives held leases up so that others take them at once (graceful shutdown). */
  releaseAll(): Promise<void>;
  /** Shards whose lease says the shard was relayed to its end (by any worker). */
  endedShards(): Set<string>;
  held(): string[];
}

export function createLeaseManager(options: {
  ddb: DynamoDBClient;
  table: string;
  workerId: string;
  durationMs: number;
  logger: Logger;
  now?: () => number;
}): LeaseManager {
  const { ddb, table, workerId, durationMs, logger, now = Date.now } = options;
  /** What we saw of each lease, and since when its counter has not moved. */
  const observed = new Map<string, { state: LeaseState; since: number }>();
  const mine = new Map<string, { epoch: number; counter: number; renewedAt: number }>();
  let ended = new Set<string>();

  const fromItem = (i: Record<string, AttributeValue>): LeaseState => ({
    shardId: i.leaseKey!.S!,
    owner: i.leaseOwner?.S,
    counter: Number(i.leaseCounter?.N ?? 0),
    epoch: Number(i.leaseEpoch?.N ?? 0),
    shardEnded: i.shardEnded?.BOOL === true,
  });

  async function scan(): Promise<LeaseState[]> {
    const out: LeaseState[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await ddb.send(new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }));
      for (const i of page.Items ?? []) out.push(fromItem(i));
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  async function conditional(fn: () => Promise<unknown>): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  /** Takes a lease whose current counter we observed (or creates it); the epoch moves on. */
  async function take(shardId: string, seen: LeaseState | undefined): Promise<boolean> {
    const epoch = (seen?.epoch ?? 0) + 1;
    const counter = (seen?.counter ?? 0) + 1;
    const ok = await conditional(() =>
      ddb.send(
        new PutItemCommand({
          TableName: table,
          Item: {
            leaseKey: { S: shardId },
            leaseOwner: { S: workerId },
            leaseCounter: { N: String(counter) },
            leaseEpoch: { N: String(epoch) },
            shardEnded: { BOOL: false },
            takenAt: { N: String(now()) },
          },
          ...(seen
            ? {
                ConditionExpression: 'leaseCounter = :c AND shardEnded = :f',
                ExpressionAttributeValues: { ':c': { N: String(seen.counter) }, ':f': { BOOL: false } },
              }
            : { ConditionExpression: 'attribute_not_exists(leaseKey)' }),
        }),
      ),
    );
    if (ok) {
      mine.set(shardId, { epoch, counter, renewedAt: now() });
      logger.info({ shardId, workerId, epoch, from: seen?.owner }, 'lease taken');
    }
    return ok;
  }

  async function renew(shardId: string): Promise<void> {
    // finish() may have dropped the shard while an earlier renewal of this round was in flight.
    const m = mine.get(shardId);
    if (!m) return;
    const ok = await conditional(() =>
      ddb.send(
        new UpdateItemCommand({
          TableName: table,
          Key: { leaseKey: { S: shardId } },
          UpdateExpression: 'SET leaseCounter = :n',
          ConditionExpression: 'leaseOwner = :me AND leaseCounter = :c',
          ExpressionAttributeValues: { ':me': { S: workerId }, ':c': { N: String(m.counter) }, ':n': { N: String(m.counter + 1) } },
        }),
      ),
    );
    // A finish() that ran meanwhile has the last word: the shard stays dropped.
    if (!mine.has(shardId)) return;
    if (ok) mine.set(shardId, { ...m, counter: m.counter + 1, renewedAt: now() });
    else {
      mine.delete(shardId);
      logger.warn({ shardId, workerId }, 'lease lost to another worker');
    }
  }

  return {
    workerId,
    async ensureTable() {
      try {
        await ddb.send(new DescribeTableCommand({ TableName: table }));
        return;
      } catch (err) {
        if (!(err instanceof ResourceNotFoundException)) throw err;
      }
      await ddb
        .send(
          new CreateTableCommand({
            TableName: table,
            AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
            KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
            BillingMode: 'PAY_PER_REQUEST',
          }),
        )
        .catch((err: unknown) => {
          // Another worker created it in the meantime.
          if ((err as { name?: string }).name !== 'ResourceInUseException') throw err;
        });
      await waitUntilTableExists({ client: ddb, maxWaitTime: 60 }, { TableName: table });
    },

    async sync(candidates) {
      for (const id of [...mine.keys()]) await renew(id);
      const leases = await scan();
      const t = now();
      ended = new Set(leases.filter((l) => l.shardEnded).map((l) => l.shardId));
      const byId = new Map(leases.map((l) => [l.shardId, l]));
      for (const l of leases) {
        const prev = observed.get(l.shardId);
        if (!prev || prev.state.counter !== l.counter || prev.state.owner !== l.owner) observed.set(l.shardId, { state: l, since: t });
      }
      const expired = (l: LeaseState) => l.owner === undefined || t - observed.get(l.shardId)!.since >= durationMs;
      const live = candidates.filter((id) => !ended.has(id));
      const owners = new Set(leases.filter((l) => !l.shardEnded && l.owner && !expired(l) && live.includes(l.shardId)).map((l) => l.owner!));
      owners.add(workerId);
      const fairShare = Math.ceil(live.length / owners.size);

      for (const id of live) {
        if (mine.has(id)) continue;
        if (mine.size >= fairShare) break;
        const l = byId.get(id);
        // Our own lease from a previous run of this worker id: no need to wait for expiry.
        if (!l || l.owner === workerId || expired(l)) await take(id, l);
      }
      if (mine.size < fairShare) {
        const counts = new Map<string, string[]>();
        for (const l of leases) {
          if (l.owner && l.owner !== workerId && !l.shardEnded && !expired(l) && live.includes(l.shardId)) {
            counts.set(l.owner, [...(counts.get(l.owner) ?? []), l.shardId]);
          }
        }
        const busiest = [...counts].sort((a, b) => b[1].length - a[1].length)[0];
        if (busiest && busiest[1].length > fairShare) {
          const victim = byId.get(busiest[1][0]!)!;
          logger.info({ shardId: victim.shardId, from: victim.owner, workerId }, 'stealing a lease to balance');
          await take(victim.shardId, victim);
        }
      }
      return new Set(mine.keys());
    },

    holds(shardId) {
      const m = mine.get(shardId);
      // Others judge expiry after durationMs without a counter change; stop a safety margin earlier.
      return m !== undefined && now() - m.renewedAt < durationMs * 0.8;
    },
    epoch: (shardId) => mine.get(shardId)?.epoch ?? 0,

    async finish(shardId) {
      const m = mine.get(shardId);
      if (!m) return;
      await conditional(() =>
        ddb.send(
          new UpdateItemCommand({
            TableName: table,
            Key: { leaseKey: { S: shardId } },
            UpdateExpression: 'SET shardEnded = :t, leaseCounter = leaseCounter + :one REMOVE leaseOwner',
            ConditionExpression: 'leaseOwner = :me',
            ExpressionAttributeValues: { ':t': { BOOL: true }, ':one': { N: '1' }, ':me': { S: workerId } },
          }),
        ),
      );
      mine.delete(shardId);
      ended.add(shardId);
    },

    async releaseAll() {
      for (const shardId of [...mine.keys()]) {
        await conditional(() =>
          ddb.send(
            new UpdateItemCommand({
              TableName: table,
              Key: { leaseKey: { S: shardId } },
              UpdateExpression: 'SET leaseCounter = leaseCounter + :one REMOVE leaseOwner',
              ConditionExpression: 'leaseOwner = :me',
              ExpressionAttributeValues: { ':one': { N: '1' }, ':me': { S: workerId } },
            }),
          ),
        ).catch((err: unknown) => logger.warn({ err, shardId }, 'lease release failed; it will expire'));
        mine.delete(shardId);
      }
    },
    endedShards: () => new Set(ended),
    held: () => [...mine.keys()],
  };
}
