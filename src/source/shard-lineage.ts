/**
 * Shard lineage of a DynamoDB stream, as pure functions.
 *
 * A DynamoDB table's stream is a tree of shards: a shard is closed after
 * about four hours (or on a partition split) and its writes continue in one
 * or two children. An item's later records can be in the child while its
 * earlier records are still unread in the parent, so reading a child before
 * its parent has been relayed to its end reorders that item's events. Both
 * Flink's connector (FLINK-35660) and Redpanda Connect read children
 * concurrently with parents; here a child is schedulable only when its
 * parent is finished (checkpoint says SHARD_END, or reached the parent's
 * EndingSequenceNumber) or gone from the stream (trimmed after 24 h — its
 * records are unreadable anyway).
 */

export interface ShardInfo {
  shardId: string;
  parentShardId?: string;
  startingSequenceNumber?: string;
  /** Present when the shard is closed. */
  endingSequenceNumber?: string;
}

export interface ShardProgress {
  /** Last relayed stream sequence number, if any. */
  sequenceNumber?: string | null;
  /** The shard returned no next iterator after the last relayed record. */
  shardEnded: boolean;
}

export interface ShardPlan {
  /** Shards that may be read now, oldest first. */
  readable: string[];
  /** Shards that wait for an unfinished parent. */
  blocked: { shardId: string; waitingFor: string }[];
  /** Shards relayed to their end: nothing more to read, leases and state can be dropped. */
  finished: string[];
}

export function compareSequenceNumbers(a: string, b: string): number {
  // Stream sequence numbers are decimal strings of up to 40 digits: compare as integers.
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function isShardFinished(shard: ShardInfo, progress: ShardProgress | undefined): boolean {
  if (!progress) return false;
  if (progress.shardEnded) return true;
  return (
    shard.endingSequenceNumber !== undefined &&
    progress.sequenceNumber !== undefined &&
    progress.sequenceNumber !== null &&
    compareSequenceNumbers(progress.sequenceNumber, shard.endingSequenceNumber) >= 0
  );
}

/**
 * Decides which shards may be read, given the stream's shards and what has
 * been relayed. Pure: same input, same plan.
 */
export function planShards(shards: readonly ShardInfo[], progressOf: (shardId: string) => ShardProgress | undefined): ShardPlan {
  const byId = new Map(shards.map((s) => [s.shardId, s]));
  const finished = new Set(shards.filter((s) => isShardFinished(s, progressOf(s.shardId))).map((s) => s.shardId));
  const readable: ShardInfo[] = [];
  const blocked: ShardPlan['blocked'] = [];
  for (const s of shards) {
    if (finished.has(s.shardId)) continue;
    const parent = s.parentShardId ? byId.get(s.parentShardId) : undefined;
    if (parent && !finished.has(parent.shardId)) blocked.push({ shardId: s.shardId, waitingFor: parent.shardId });
    else readable.push(s);
  }
  readable.sort(byAge);
  return { readable: readable.map((s) => s.shardId), blocked, finished: [...finished] };
}

function byAge(a: ShardInfo, b: ShardInfo): number {
  if (a.startingSequenceNumber && b.startingSequenceNumber) {
    const c = compareSequenceNumbers(a.startingSequenceNumber, b.startingSequenceNumber);
    if (c !== 0) return c;
  }
  return a.shardId < b.shardId ? -1 : a.shardId > b.shardId ? 1 : 0;
}

export interface ShardPage {
  shards: ShardInfo[];
  /** DescribeStream's LastEvaluatedShardId: more pages follow when set. */
  lastEvaluatedShardId?: string;
}

/**
 * Walks DescribeStream pages (ExclusiveStartShardId = previous page's
 * LastEvaluatedShardId) and returns every shard once. A page that repeats
 * its predecessor's cursor ends the walk instead of looping forever.
 */
export async function collectShards(fetchPage: (exclusiveStartShardId: string | undefined) => Promise<ShardPage>): Promise<ShardInfo[]> {
  const seen = new Map<string, ShardInfo>();
  let cursor: string | undefined;
  const cursors = new Set<string>();
  do {
    const page = await fetchPage(cursor);
    for (const s of page.shards) seen.set(s.shardId, s);
    cursor = page.lastEvaluatedShardId;
    if (cursor !== undefined) {
      if (cursors.has(cursor)) break;
      cursors.add(cursor);
    }
  } while (cursor !== undefined);
  return [...seen.values()];
}
