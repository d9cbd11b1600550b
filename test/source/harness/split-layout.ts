/**
 * TEST HARNESS (not product code): the simulated shard layout of one
 * DynamoDB stream. Real stream records are appended in stream order; each
 * lands in the open shard whose hash range holds its partition key. A split
 * closes an open shard at a sequence number and opens two children; the
 * child a record goes to is chosen by bit `depth` of the key's hash, so one
 * key's records follow one path down the tree and a key's order within
 * every shard is its write order — as in a real DynamoDB partition split.
 */

export interface HarnessRecord {
  sequenceNumber: string;
  /** 32-bit FNV-1a of the partition key's value. */
  hash: number;
  /** The record in the JSON 1.0 wire form GetRecords returns. */
  wire: Record<string, unknown>;
}

export interface VirtualShard {
  shardId: string;
  parentShardId: string | undefined;
  depth: number;
  /** The low `depth` bits of the hashes this shard holds. */
  path: number;
  startingSequenceNumber: string;
  /** Set when the shard is closed. */
  endingSequenceNumber: string | undefined;
  records: HarnessRecord[];
}

export interface SplitPolicy {
  /** Split every open shard after this many records reached the stream since the last split (0 = only on demand). */
  everyRecords: number;
  /** Generations of splits (the root is generation 0): 3 gives 8 open shards. */
  maxDepth: number;
}

export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function nextSequence(seq: string): string {
  return (BigInt(seq) + 1n).toString().padStart(seq.length, '0');
}

export function createSplitLayout(options: { policy: SplitPolicy; idPrefix?: string }) {
  const { policy } = options;
  const prefix = options.idPrefix ?? 'shardId-harness';
  const shards: VirtualShard[] = [];
  let sinceSplit = 0;
  let lastSequence = '0';
  let generations = 0;

  const idOf = (depth: number, path: number) => `${prefix}-g${depth}-${depth === 0 ? 'root' : path.toString(2).padStart(depth, '0')}`;

  function open(depth: number, path: number, parent: string | undefined, start: string) {
    const s: VirtualShard = {
      shardId: idOf(depth, path),
      parentShardId: parent,
      depth,
      path,
      startingSequenceNumber: start,
      endingSequenceNumber: undefined,
      records: [],
    };
    shards.push(s);
    return s;
  }
  open(0, 0, undefined, '0'.padStart(21, '0'));

  const openShards = () => shards.filter((s) => s.endingSequenceNumber === undefined);
  const mask = (depth: number) => (depth === 0 ? 0 : (1 << depth) - 1);
  const leafFor = (hash: number) => openShards().find((s) => (hash & mask(s.depth)) === s.path)!;

  /** Closes the given open shards (default: all below maxDepth) after `at` and opens two children each. */
  function split(at: string = lastSequence, ids?: readonly string[]): string[] {
    const opened: string[] = [];
    for (const s of openShards()) {
      if (ids ? !ids.includes(s.shardId) : s.depth >= policy.maxDepth) continue;
      s.endingSequenceNumber = s.records.at(-1)?.sequenceNumber ?? at;
      for (const bit of [0, 1]) opened.push(open(s.depth + 1, s.path | (bit << s.depth), s.shardId, nextSequence(at)).shardId);
      generations = Math.max(generations, s.depth + 1);
    }
    sinceSplit = 0;
    return opened;
  }

  return {
    shards: () => shards,
    byId: (id: string) => shards.find((s) => s.shardId === id),
    openShards,
    generations: () => generations,
    lastSequence: () => lastSequence,
    split,
    /** Appends one real record (in stream order) and applies the split policy after it. */
    ingest(record: HarnessRecord) {
      leafFor(record.hash).records.push(record);
      lastSequence = record.sequenceNumber;
      sinceSplit++;
      if (policy.everyRecords > 0 && sinceSplit >= policy.everyRecords && openShards().some((s) => s.depth < policy.maxDepth)) split(lastSequence);
    },
  };
}

export type SplitLayout = ReturnType<typeof createSplitLayout>;
