import { checkpointKey, type Checkpoint } from '../log/checkpoints.js';
import type { CheckpointWrite, OutgoingMessage, ShardSink } from '../log/relay-producer.js';
import type { MappedPage } from './page-mapper.js';
import { addCounts, emptyCounts, inStage, type PageTiming, type RelayCounts, type ShardEvent } from './shard-state.js';

/** Records read but not yet committed: the next transaction. */
interface PendingTransaction {
  out: OutgoingMessage[];
  records: number;
  bytes: number;
  counts: RelayCounts;
  /** The stream position the transaction's checkpoint records. */
  lastSeq: string | null;
  ended: boolean;
  /** Write time of the last record read that has one (the checkpoint's `writtenAt`). */
  writtenAt: number | undefined;
  pages: PageTiming[];
}

/** The position last committed for a shard: where a relay pass starts, and what a fault resumes from. */
export interface ShardCursor {
  committed: Checkpoint | undefined;
}

export interface GroupCommit {
  /** Stream records (filtered ones included) in the pending transaction. */
  pendingRecords(): number;
  /** Would `page` take a non-empty pending transaction past its caps? Then that one commits first. */
  overflows(page: MappedPage): boolean;
  /** Adds a page that ends at stream position `lastSeq` (undefined: where the previous page ended). */
  add(page: MappedPage, lastSeq: string | undefined, ended: boolean): void;
  /** Is a commit still running (one that finished waits for {@link GroupCommit.drain} to report)? */
  committing(): boolean;
  /**
   * The one way a transaction starts: false, and nothing written, when the
   * lease is no longer valid; else waits for the commit in flight (raising its
   * failure), starts committing the pending records with the checkpoint after
   * them, and with `wait` waits for that commit too.
   */
  commit(options: { wait: boolean }): Promise<boolean>;
  /** Waits for the commit in flight; its failure is raised here, tagged 'commit'. */
  drain(): Promise<void>;
  /** Drops the pending records: reading goes on from the committed position (after an iterator renewal). */
  discard(): void;
  /** Waits for a commit still in flight without raising: false if it failed (the sink's state is then unknown). */
  settle(): Promise<boolean>;
}

/**
 * A shard's transactions, one at a time (group commit): while one commits,
 * the pages read meanwhile gather in the pending transaction, which commits
 * once the first is done — records, dead letters and the checkpoint after the
 * last of its pages, whole pages only, at most `limits.records` records and
 * `limits.bytes` bytes unless a single page is larger. The committed position
 * moves (in `cursor`) only when a commit succeeds, so after any failure the
 * worker resumes from a checkpoint that is in the topic with its records.
 */
export function createGroupCommit(options: {
  sink: ShardSink;
  checkpoint: { topic: string; table: string; shardId: string };
  lease: { valid(): boolean; epoch(): number };
  cursor: ShardCursor;
  limits: { records: number; bytes: number };
  emit: (event: ShardEvent) => void;
}): GroupCommit {
  const { sink, lease, cursor, limits, emit } = options;
  const key = checkpointKey(options.checkpoint.table, options.checkpoint.shardId);
  const empty = (): PendingTransaction => ({ out: [], records: 0, bytes: 0, counts: emptyCounts(), lastSeq: null, ended: false, writtenAt: undefined, pages: [] });
  let pending = empty();
  // The last sequence number read; every transaction started so far ends at or before it.
  let readSeq = cursor.committed?.sequenceNumber ?? null;
  let inflight: { promise: Promise<void>; settled: boolean } | undefined;

  function checkpointWrite(sequenceNumber: string | null, shardEnded: boolean, writtenAt: number | undefined): CheckpointWrite {
    const checkpoint: Checkpoint = { sequenceNumber, shardEnded, updatedAt: Date.now(), leaseEpoch: lease.epoch(), ...(writtenAt === undefined ? {} : { writtenAt }) };
    return { topic: options.checkpoint.topic, key, checkpoint };
  }

  function start(t: PendingTransaction): void {
    const writtenAt = t.writtenAt ?? cursor.committed?.writtenAt;
    const producedAt = Date.now();
    const promise = sink.commit(t.out, checkpointWrite(t.lastSeq, t.ended, writtenAt)).then(() => {
      const at = Date.now();
      cursor.committed = { sequenceNumber: t.lastSeq, shardEnded: t.ended, updatedAt: at, leaseEpoch: lease.epoch(), ...(writtenAt === undefined ? {} : { writtenAt }) };
      emit({ type: 'committed', lastSequenceNumber: t.lastSeq, records: t.records, ...t.counts, at, timing: { producedAt, pages: t.pages } });
    });
    const entry = { promise, settled: false };
    const settled = () => void (entry.settled = true);
    promise.then(settled, settled);
    inflight = entry;
  }

  async function drain(): Promise<void> {
    if (!inflight) return;
    const { promise } = inflight;
    try {
      await inStage('commit', () => promise);
    } finally {
      inflight = undefined;
    }
  }

  return {
    pendingRecords: () => pending.records,
    overflows: (page) => pending.records > 0 && (pending.records + page.records > limits.records || pending.bytes + page.bytes > limits.bytes),
    add(page, lastSeq, ended) {
      readSeq = lastSeq ?? readSeq;
      if (page.writtenAt !== undefined) pending.writtenAt = page.writtenAt;
      for (const m of page.out) pending.out.push(m);
      pending.records += page.records;
      pending.bytes += page.bytes;
      addCounts(pending.counts, page.counts);
      if (page.timing) pending.pages.push(page.timing);
      pending.lastSeq = readSeq;
      pending.ended = ended;
    },
    committing: () => inflight !== undefined && !inflight.settled,
    async commit({ wait }) {
      if (!lease.valid()) return false;
      await drain();
      start(pending);
      pending = empty();
      if (wait) await drain();
      return true;
    },
    drain,
    discard() {
      pending = empty();
      readSeq = cursor.committed?.sequenceNumber ?? null;
    },
    async settle() {
      if (!inflight) return true;
      const { promise } = inflight;
      inflight = undefined;
      return promise.then(
        () => true,
        () => false,
      );
    },
  };
}
