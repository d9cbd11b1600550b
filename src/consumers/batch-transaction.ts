import { isCanaryKey } from '../shared/canary.js';
import { errorCode, errorMessage, isRetriable } from '../shared/errors.js';
import type { Pool, PoolClient } from '../db/db.js';
import type { DeadLetter, DeadLetterQueue } from './dead-letter.js';
import { emptyOutcome, mergeOutcome, type ConsumedEvent, type ConsumerHandler, type HandlerOutcome } from './handler.js';
import { advancePartitions, lockPartitions } from './offset-store.js';
import { judgePosition, PartitionBlockedError, type OffsetWitness } from './offset-witness.js';
import { deadLetterOf } from './record-decoder.js';
import { recordViewFreshness } from '../db/view-freshness.js';

export interface BatchResult<E> {
  /** The stored offset was already past this batch: another owner applied it. Nothing was written. */
  stale: boolean;
  outcome: HandlerOutcome<E>;
  /** Letters sent to the DLQ by this transaction (rejected or, isolating, failing events). */
  deadLettered: DeadLetter[];
  /** How long the PostgreSQL transaction was open. */
  transactionMs: number;
  /** Journal times of the canary heartbeats this batch carried (recorded per view, never handed to the handler). */
  canaryTimes: number[];
}

export interface BatchTransaction<E> {
  groupId: string;
  pool: Pool;
  handler: ConsumerHandler<E>;
  dlq: () => DeadLetterQueue;
}

/**
 * Applies one partition batch exactly once: one PostgreSQL transaction takes
 * the partition's offset row FOR UPDATE, drops records below it (a redelivery
 * or a batch another owner already applied), advances the offset past
 * `lastOffset`, runs the handler, records view freshness, sends dead letters
 * and commits. A crash anywhere before COMMIT leaves nothing behind but DLQ
 * records, which are at-least-once (re-sent on redo, identified by their
 * `dlq_source_*` headers).
 *
 * `isolate` applies the events one by one under savepoints and dead-letters
 * those that fail on their own. An infrastructure error there (deadlock, lock
 * or statement timeout, lost connection) is not an event's fault: it aborts
 * the whole transaction and is rethrown, never dead-lettered.
 *
 * `events` may be empty (a batch of undecodable records only, or a skipped
 * one): the offsets still advance. Canary heartbeats (src/shared/canary.ts)
 * are taken out before the handler and recorded as the views' canary time.
 */
/** The records of one batch as the offset bookkeeping sees them. */
export interface BatchSpan {
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  /** The witness of the record at `offset` in this batch, or null when the batch holds none there. */
  witnessAt(offset: number): OffsetWitness | null;
  /** The topic ID the batch was read from (null: the cluster gives none). */
  topicId: string | null;
}

export async function applyBatch<E>(
  b: BatchTransaction<E>,
  at: BatchSpan,
  events: ConsumedEvent<E>[],
  mode: { isolate: boolean; attempt: number },
): Promise<BatchResult<E>> {
  return (await applyBatches(b, [{ span: at, events, mode }]))[0]!;
}

/** One partition batch of a joint transaction. */
export interface BatchItem<E> {
  span: BatchSpan;
  events: ConsumedEvent<E>[];
  mode: { isolate: boolean; attempt: number };
}

/**
 * Applies the batches of several partitions in one PostgreSQL transaction,
 * each exactly as {@link applyBatch} would: the offset rows are locked and
 * advanced first (in topic, partition order, three statements for all of
 * them), then the handler runs once on
 * the new events of all of them (a handler's batch may span partitions; it
 * takes its own locks partition by partition in the same order), then view
 * freshness is recorded once, dead letters are sent and the whole commits.
 * One result per item, in the order given. A batch another owner already
 * applied is `stale` and writes nothing; the others still commit. Any error
 * aborts all of them: nothing of any item is left behind.
 *
 * Why (issue 33): a fetch holds a batch for each partition, and one commit for
 * all of them replaces a commit each — transactions that otherwise queue,
 * one behind the other, on the few rows every partition of the views group
 * shares (views, freshness).
 */
export async function applyBatches<E>(b: BatchTransaction<E>, items: readonly BatchItem<E>[]): Promise<BatchResult<E>[]> {
  const order = items.map((_, i) => i).sort((x, y) => compareSpans(items[x]!.span, items[y]!.span));
  const client = await b.pool.connect();
  const opened = performance.now();
  let broken = false;
  try {
    await client.query('BEGIN');
    const nexts: (number | undefined)[] = [];
    const stored = await lockPartitions(client, b.groupId, items.map((item) => item.span));
    for (const i of order) {
      const { span: at } = items[i]!;
      const { topic, partition, lastOffset } = at;
      const { nextOffset, witness: w } = stored[i]!;
      // A batch that reaches back over the witnessed record (a redelivery, or a
      // client that reset its position by itself) must hold that very record:
      // otherwise the stored offset names records of another topic incarnation.
      if (w && w.offset >= at.firstOffset && w.offset <= lastOffset) {
        const verdict = judgePosition({ topic, partition, nextOffset, witness: w, logStart: 0, logEnd: Number.MAX_SAFE_INTEGER, atWitness: at.witnessAt(w.offset) });
        if (!verdict.ok) throw new PartitionBlockedError(topic, partition, verdict.kind, verdict.reason);
      }
      if (nextOffset <= lastOffset) nexts[i] = nextOffset; // else stale: another owner applied it
    }
    // The partitions' own offset rows (locked above) before any handler: what follows the handler's writes
    // holds rows other partitions wait on (views, freshness) until the commit, so that stretch stays short.
    await advancePartitions(
      client,
      b.groupId,
      order.flatMap((i) => {
        const at = items[i]!.span;
        return nexts[i] === undefined ? [] : [{ topic: at.topic, partition: at.partition, nextOffset: at.lastOffset + 1, witness: at.witnessAt(at.lastOffset), topicId: at.topicId }];
      }),
    );
    if (nexts.every((n) => n === undefined)) {
      await client.query('ROLLBACK');
      const transactionMs = performance.now() - opened;
      return items.map(() => ({ stale: true, outcome: emptyOutcome<E>(), deadLettered: [], transactionMs, canaryTimes: [] }));
    }
    // Each batch's records from its stored offset on, canary heartbeats taken out.
    const canaries: number[][] = items.map(() => []);
    const fresh = items.map((item, i) => {
      const next = nexts[i];
      if (next === undefined) return [];
      return item.events.filter((e) => {
        if (e.offset < next) return false;
        if (!isCanaryKey(e.key)) return true;
        if (e.sourceWrittenAt !== undefined) canaries[i]!.push(e.sourceWrittenAt);
        return false;
      });
    });
    const outcomes: HandlerOutcome<E>[] = items.map(() => emptyOutcome<E>());
    const failed: DeadLetter[][] = items.map(() => []);
    // Batches applied whole: the handler runs once on all their events (one set of round trips, whatever the
    // number of partitions), its outcome reported on the first of them. Isolating: one by one, each on its own.
    const whole = order.filter((i) => nexts[i] !== undefined && !items[i]!.mode.isolate && fresh[i]!.length > 0);
    if (whole.length > 0) outcomes[whole[0]!] = await b.handler.applyBatch(whole.flatMap((i) => fresh[i]!), client);
    for (const i of order) {
      if (nexts[i] === undefined || !items[i]!.mode.isolate || fresh[i]!.length === 0) continue;
      const r = await isolated(b.handler, fresh[i]!, client, items[i]!.mode.attempt);
      outcomes[i] = r.outcome;
      failed[i] = r.failed;
    }
    const all = emptyOutcome<E>();
    for (const o of outcomes) mergeOutcome(all, o);
    const allCanaries = canaries.flat();
    const own = items.map((item, i) => [...failed[i]!, ...outcomes[i]!.rejected.map((r) => deadLetterOf(r.event, r.code, r.message, item.mode.attempt + 1))]);
    const letters = own.flat();
    await recordViewFreshness(client, b.handler.views, b.groupId, all, allCanaries.length > 0 ? Math.max(...allCanaries) : undefined);
    // DLQ before COMMIT: a crash in between re-sends on redo (at-least-once DLQ), never loses.
    if (letters.length > 0) await b.dlq().send(b.groupId, letters);
    await client.query('COMMIT');
    const transactionMs = performance.now() - opened;
    return items.map((_, i) => ({ stale: nexts[i] === undefined, outcome: outcomes[i]!, deadLettered: own[i]!, transactionMs, canaryTimes: canaries[i]! }));
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw err;
  } finally {
    client.release(broken);
  }
}

function compareSpans(a: BatchSpan, b: BatchSpan): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

async function isolated<E>(handler: ConsumerHandler<E>, events: ConsumedEvent<E>[], client: PoolClient, attempt: number) {
  const outcome = emptyOutcome<E>();
  const failed: DeadLetter[] = [];
  for (const e of events) {
    await client.query('SAVEPOINT one_event');
    try {
      mergeOutcome(outcome, await handler.applyBatch([e], client));
      await client.query('RELEASE SAVEPOINT one_event');
    } catch (err) {
      if (isRetriable(err)) throw err;
      await client.query('ROLLBACK TO SAVEPOINT one_event');
      failed.push(deadLetterOf(e, errorCode(err), errorMessage(err), attempt + 1));
    }
  }
  return { outcome, failed };
}
