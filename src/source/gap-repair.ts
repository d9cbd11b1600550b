import { checkpointKey, SPECIAL_KEY_PREFIX, type Checkpoint } from '../log/checkpoints.js';
import type { KeyHighWaterMarks } from '../log/key-high-water.js';
import type { OutgoingMessage, ShardSink } from '../log/relay-producer.js';
import type { Logger } from '../shared/logger.js';
import { planWindow, probeHead, type GapWindow, type ShardHead } from './gap-window.js';
import type { MapResult } from './mapping.js';
import { checkpointRecord, seamRecords } from './seam.js';
import type { StreamReader } from './stream-reader.js';
import type { TableSource } from './table-source.js';
import { readWindowByIndex, readWindowByScan, usableIndex, type WindowItem, type WindowReadMethod } from './window-read.js';

export const REPAIR_KEY = `${SPECIAL_KEY_PREFIX}repair`;

/** What one gap repair did (also logged, and kept in the bridge status). */
export interface GapRepairResult {
  method: WindowReadMethod;
  window: GapWindow;
  trimmedShards: string[];
  /** Items read from the table or its index. */
  itemsRead: number;
  /** Items of the window (what the read passed on). */
  inWindow: number;
  /** Events relayed: the gap. */
  relayed: number;
  /** Window events the topic held already (the overlap the skew allowance reads again). */
  alreadyInTopic: number;
  deadLettered: number;
  /** Topic records read to learn what it holds, and how long that took (a consumer group join included). */
  topicRecordsRead: number;
  topicReadMs: number;
  /** Ids put into the seam (may come again through the stream). */
  seamEntries: number;
  durationMs: number;
}

export interface GapRepairOptions extends TableSource {
  /** The repair's own sink (one transactional id per table): opening it fences any earlier repair. */
  openSink: () => Promise<ShardSink>;
  /** Highest sequence number per id among the event topic's records since a time (src/log/key-high-water.ts). */
  readMarks: (sinceMs: number) => Promise<KeyHighWaterMarks>;
  logger: Logger;
  signal?: AbortSignal;
  onRelayed?: (n: number) => void;
  /** Events per transaction (default 500). */
  batchSize?: number;
}

/**
 * Relays what the stream lost for the shards whose positions fell behind its
 * trim horizon: the journal items written in the missed window (see
 * gap-window.ts), and only those the topic does not hold yet, each once.
 *
 * 1. Opens the repair's sink (fences an earlier repair, here or in another
 *    process, and completes its open transaction) and reads the checkpoints.
 * 2. Probes every shard: a checkpointed one whose position GetShardIterator
 *    refuses (or that left the stream) is trimmed, and so is an unread child
 *    of a relayed shard whose first position is refused; the first record
 *    the stream still holds on the trimmed shards and on shards without a
 *    checkpoint is where it resumes; the next record of the others is what
 *    they have not relayed yet. No shard is trimmed: nothing to do.
 * 3. Reads what the topic holds per id since the window's start (less the
 *    skew, by the topic's own timestamps).
 * 4. Reads the window (write-time index, or a filtered Scan) and relays, per
 *    id in sequence order, the events above what the topic holds, in
 *    transactions with their seam marks.
 * 5. Commits a checkpoint per trimmed shard at its resume point (read AT that
 *    record next), in one transaction with the repair's record.
 *
 * Exactly once across a crash: nothing of the repair is remembered but what
 * it committed; a rerun reads the topic again, which holds the first run's
 * events, and skips them. The shards of this process must be stopped while
 * it runs (the bridge pauses them); see docs/operating/gap-repair.md for
 * what another process's shards can do meanwhile.
 */
export async function runGapRepair(o: GapRepairOptions): Promise<GapRepairResult | undefined> {
  const { ddb, connector, mapper, reader, streamArn, logger, signal, batchSize = 500 } = o;
  const { table, checkpointTopic } = connector;
  const skewMs = connector.gapRepair.skewAllowanceMs;
  const started = Date.now();
  const sink = await o.openSink();
  try {
    const all = await o.checkpoints.read(table);
    const described = new Set(o.shards.map((s) => s.shardId));
    const trimmed: { shardId: string; checkpoint: Checkpoint; head: ShardHead }[] = [];
    const resumeHeads: ShardHead[] = [];
    const liveHeads: ShardHead[] = [];
    const probe = (shardId: string, position: Parameters<StreamReader['iterator']>[2]) => probeHead({ reader, mapper, streamArn, shardId, position, ...(signal ? { signal } : {}) });
    for (const [shardId, c] of all) {
      if (shardId.startsWith(SPECIAL_KEY_PREFIX) || c.shardEnded) continue;
      if (!described.has(shardId)) {
        // Left the stream (24 h after it closed) before it was read to its end.
        trimmed.push({ shardId, checkpoint: c, head: { shardId, state: 'ended' } });
        continue;
      }
      const head = await probe(shardId, c.resumeAt && c.sequenceNumber === null ? { at: c.resumeAt } : c.sequenceNumber);
      if (head.state !== 'trimmed') {
        liveHeads.push(head);
        continue;
      }
      const resume = await probe(shardId, null);
      trimmed.push({ shardId, checkpoint: c, head: resume });
      resumeHeads.push(resume);
    }
    for (const s of o.shards) {
      if (all.has(s.shardId)) continue;
      // Read from its first position when its parent was relayed here (as the shard worker does), else TRIM_HORIZON.
      const parent = s.parentShardId ? all.get(s.parentShardId) : undefined;
      const head = await probe(s.shardId, parent && s.startingSequenceNumber ? { at: s.startingSequenceNumber } : null);
      if (head.state !== 'trimmed') {
        resumeHeads.push(head);
        continue;
      }
      // Never read, and its first records are gone: the gap starts where its parent's relay ended.
      const resume = await probe(s.shardId, null);
      trimmed.push({ shardId: s.shardId, checkpoint: { ...parent!, shardEnded: false }, head: resume });
      resumeHeads.push(resume);
    }
    if (trimmed.length === 0) return undefined;
    const probedAt = Date.now();
    const window = planWindow({ trimmed: trimmed.map((t) => t.checkpoint), resumeHeads, liveHeads, skewMs, now: probedAt });
    const index = await usableIndex(ddb, connector);
    // Items written before the writers stamped the bucket are not in the index: such a window is scanned.
    const indexed = index && connector.mapping.writtenAt && (index.since === undefined || Date.parse(index.since) <= window.from);
    const method: WindowReadMethod = indexed ? 'index' : 'scan';
    const shardIds = trimmed.map((t) => t.shardId);
    logger.warn(
      { shards: shardIds, from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString(), skewAllowanceMs: skewMs, method },
      method === 'index'
        ? 'stream positions are older than the trim horizon: relaying the missed window from the write-time index'
        : 'stream positions are older than the trim horizon: relaying the missed window through a filtered Scan, which reads the whole table (the table has no write-time index: docs/operating/gap-repair.md)',
    );

    const topicReadStarted = Date.now();
    // Without a write time nothing bounds the window: what the topic holds is read from its beginning.
    const marks = await o.readMarks(connector.mapping.writtenAt ? window.from - skewMs : 0);
    const topicReadMs = Date.now() - topicReadStarted;
    const known = marks.marks;
    const run = `repair-${started}`;
    const totals = { itemsRead: 0, inWindow: 0, relayed: 0, alreadyInTopic: 0, deadLettered: 0, seamEntries: 0 };
    let pending = { out: [] as OutgoingMessage[], seam: new Map<string, number>() };
    let seamNo = 0;
    let commits: Promise<void> = Promise.resolve();
    const repairRecord = (done: boolean) => ({
      topic: checkpointTopic,
      key: checkpointKey(table, REPAIR_KEY),
      checkpoint: { sequenceNumber: null, shardEnded: false, updatedAt: Date.now(), leaseEpoch: 0, writtenAt: window.to, ...(done ? { backfillCompletedAt: Date.now() } : {}) },
    });
    /** Commits what is pending (one transaction at a time, in order); a failure fails the repair, which is then rerun. */
    const flush = (extra: OutgoingMessage[] = [], done = false) => {
      const batch = pending;
      pending = { out: [], seam: new Map() };
      const seam = seamRecords({ table, checkpointTopic, run, first: seamNo, entries: batch.seam });
      seamNo = seam.next;
      totals.seamEntries += batch.seam.size;
      const relayed = batch.out.filter((m) => m.topic === connector.topic).length;
      commits = commits.then(async () => {
        await sink.commit([...batch.out, ...seam.messages, ...extra], repairRecord(done));
        o.onRelayed?.(relayed);
      });
      return commits;
    };

    const onPage = async (items: WindowItem[]) => {
      totals.inWindow += items.length;
      const mapped: { w: WindowItem; r: MapResult }[] = [];
      for (const w of items) mapped.push({ w, r: await mapper.map(w.item, { table, shardId: 'gap-repair', sequenceNumber: '', eventName: 'INSERT' }) });
      // Per id in sequence order: the index hands a page on by write time.
      const order = (x: MapResult) => (x.kind === 'relay' ? [x.persistenceId, x.sequenceNr] as const : ['', 0] as const);
      mapped.sort((a, b) => {
        const [ia, sa] = order(a.r);
        const [ib, sb] = order(b.r);
        return ia < ib ? -1 : ia > ib ? 1 : sa - sb;
      });
      for (const { w, r } of mapped) {
        if (r.kind === 'dead-letter') {
          pending.out.push(r.message);
          totals.deadLettered++;
        } else if (r.kind === 'relay') {
          if (r.sequenceNr <= (known.get(r.persistenceId) ?? 0)) {
            totals.alreadyInTopic++;
            continue;
          }
          known.set(r.persistenceId, r.sequenceNr);
          pending.out.push(r.message);
          totals.relayed++;
          if (w.writtenAt === undefined || w.writtenAt >= window.seamFrom) pending.seam.set(r.persistenceId, r.sequenceNr);
        }
      }
      if (pending.out.length >= batchSize) await flush();
    };
    // One slice or segment failing stops the others at their next page.
    const stop = new AbortController();
    const read = {
      ddb,
      connector,
      from: window.from,
      to: window.to,
      writtenAtOf: (item: WindowItem['item']) => mapper.writtenAtOf(item),
      onPage,
      onRead: (n: number) => (totals.itemsRead += n),
      logger,
      signal: signal ? AbortSignal.any([signal, stop.signal]) : stop.signal,
    };
    try {
      if (method === 'index' && index) await readWindowByIndex({ ...read, index, writtenAtAttribute: connector.mapping.writtenAt! });
      else await readWindowByScan(read);
    } catch (err) {
      stop.abort();
      await commits.catch(() => undefined);
      throw err;
    }

    // The trimmed shards go on where the stream resumes; the records before it are what the window covered.
    const resumes = trimmed.map(({ shardId, head }) =>
      checkpointRecord(table, checkpointTopic, shardId, {
        sequenceNumber: null,
        shardEnded: head.state === 'ended',
        updatedAt: Date.now(),
        leaseEpoch: 0,
        writtenAt: head.state === 'record' ? head.writtenAt : probedAt,
        ...(head.state === 'record' ? { resumeAt: head.sequenceNumber } : {}),
      }),
    );
    await flush(resumes, true);
    const result: GapRepairResult = { method, window, trimmedShards: shardIds, ...totals, topicRecordsRead: marks.records, topicReadMs, durationMs: Date.now() - started };
    logger.warn({ ...result, window: { from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString() } }, 'stream gap repaired');
    return result;
  } finally {
    await sink.close();
  }
}
