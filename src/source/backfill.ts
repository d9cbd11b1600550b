import { DescribeTableCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BACKFILL_KEY, checkpointKey, SPECIAL_KEY_PREFIX, type BackfillProgress, type Checkpoint } from '../log/checkpoints.js';
import type { CheckpointWrite, OutgoingMessage, ShardSink } from '../log/relay-producer.js';
import type { Logger } from '../shared/logger.js';
import type { Item } from './attributes.js';
import type { ConnectorConfig } from './connector.js';
import { planWindow, probeHead, type ShardHead } from './gap-window.js';
import { checkpointRecord, seamRecords } from './seam.js';
import { STREAM_RETENTION_MS } from './shard-worker.js';
import type { TableSource } from './table-source.js';

export interface BackfillResult {
  /** Items this run scanned (a resumed run: from where the last one stopped). */
  items: number;
  relayed: number;
  deadLettered: number;
  filtered: number;
  /** Items written after the plan's end: the stream's to relay. */
  leftToStream: number;
  /** True when this run continued a killed one. */
  resumed: boolean;
  /** The plan: items written up to `to` went through the scan; from `seamFrom` on into the seam (absent: the layout has no write time). */
  to: number | undefined;
  seamFrom: number | undefined;
  durationMs: number;
}

const segmentKey = (n: number) => `${BACKFILL_KEY}/${n}`;

/** LastEvaluatedKey as JSON and back, for the checkpoint (key values are S, N or B; B as base64). */
export function encodeKey(key: Record<string, AttributeValue>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(key).map(([k, v]) => [k, v.B ? { B64: Buffer.from(v.B).toString('base64') } : v])));
}
export function decodeKey(json: string): Record<string, AttributeValue> {
  const raw = JSON.parse(json) as Record<string, { S?: string; N?: string; B64?: string }>;
  return Object.fromEntries(
    Object.entries(raw).map(([k, v]): [string, AttributeValue] => [k, v.B64 !== undefined ? { B: Buffer.from(v.B64, 'base64') } : v.N !== undefined ? { N: v.N } : { S: v.S ?? '' }]),
  );
}

/**
 * A first start on a table with history the stream does not hold (a stream
 * enabled late, or a table older than the retention): relays, through a
 * parallel Scan, every item written before the stream resumes, and leaves the
 * rest to the stream — each event once.
 *
 * The plan (`<table>/$backfill`): the first record each shard's stream holds
 * (TRIM_HORIZON) bounds what the scan relays (`to`, its write time plus the
 * skew allowance, see gap-window.ts); events the scan relays from `seamFrom`
 * on may be in the stream too and go into the seam (src/source/seam.ts),
 * which the shard workers skip. Each scan page commits in one Kafka
 * transaction with its events, its seam marks and its segment's progress
 * (`<table>/$backfill/<n>`: LastEvaluatedKey, pages, items): a run killed at
 * any point continues from the last committed page of every segment, with
 * the same plan. When every segment is done, one transaction marks the
 * backfill complete and checkpoints each shard at the record its stream
 * resumes with (read AT it next), so that a backfill outliving the retention
 * is noticed and its gap repaired instead of skipped.
 *
 * Sinks: one per segment, opened (fencing every earlier run's) before the
 * checkpoints are read, so a predecessor's open transaction is settled first.
 */
export async function runBackfill(options: TableSource & {
  /** Opens (and fences) the sink of segment `n`. */
  openSink: (n: number) => Promise<ShardSink>;
  logger: Logger;
  signal?: AbortSignal;
  onItems?: (n: number) => void;
  progressIntervalMs?: number;
}): Promise<BackfillResult> {
  const { ddb, connector, mapper, reader, logger, signal, onItems, progressIntervalMs = 5_000 } = options;
  const { table, checkpointTopic } = connector;
  const started = Date.now();
  const sinks: ShardSink[] = [];
  try {
    sinks.push(await options.openSink(0));
    let all = await options.checkpoints.read(table);
    const planRecord = all.get(BACKFILL_KEY);
    const existing = planRecord?.backfill?.segments !== undefined && planRecord.backfillCompletedAt === undefined ? planRecord.backfill : undefined;
    const segments = existing?.segments ?? connector.backfill.segments;
    for (let n = 1; n < segments; n++) sinks.push(await options.openSink(n));
    // Fenced every segment of an earlier run: its last page is settled now.
    if (segments > 1) all = await options.checkpoints.read(table);

    let plan: { to: number | undefined; seamFrom: number | undefined; heads: ShardHead[] };
    if (existing) {
      plan = { to: existing.to, seamFrom: existing.seamFrom, heads: headsOf(existing) };
    } else {
      const heads: ShardHead[] = [];
      for (const s of options.shards) heads.push(await probeHead({ reader, mapper, streamArn: options.streamArn, shardId: s.shardId, position: null, ...(signal ? { signal } : {}) }));
      const w = planWindow({ trimmed: [], resumeHeads: heads, liveHeads: [], skewMs: connector.gapRepair.skewAllowanceMs, now: Date.now() });
      plan = { to: w.to, seamFrom: w.seamFrom, heads };
      await sinks[0]!.commit([], write(BACKFILL_KEY, { backfill: { to: w.to, seamFrom: w.seamFrom, segments, heads: encodeHeads(heads) } }));
    }
    // A layout without a write time cannot tell what the stream holds: the scan relays everything, all of it in the seam.
    const to = connector.mapping.writtenAt && plan.to !== undefined ? plan.to : Number.POSITIVE_INFINITY;
    const seamFrom = connector.mapping.writtenAt && plan.seamFrom !== undefined ? plan.seamFrom : 0;
    const progressOf = (n: number): BackfillProgress => (existing ? (all.get(segmentKey(n))?.backfill ?? {}) : {});
    const resumed = existing !== undefined && Array.from({ length: segments }, (_, n) => progressOf(n)).some((p) => (p.pages ?? 0) > 0);
    logger.info(
      { table, segments, resumed, to: Number.isFinite(to) ? new Date(to).toISOString() : 'no write time in this layout: the whole table', pagesDone: Array.from({ length: segments }, (_, n) => progressOf(n).pages ?? 0) },
      resumed ? 'backfill resumed where the last run stopped' : 'backfill planned: items written before the stream resumes go through the scan',
    );

    const totals = { items: 0, relayed: 0, deadLettered: 0, filtered: 0, leftToStream: 0 };
    let segmentsDone = 0;
    // DescribeTable's ItemCount is approximate (refreshed about every 6 h on AWS): good enough for an ETA.
    const estimated = await ddb
      .send(new DescribeTableCommand({ TableName: table }))
      .then((d) => d.Table?.ItemCount)
      .catch(() => undefined);
    const progress = setInterval(() => {
      const rate = totals.items / ((Date.now() - started) / 1000);
      const etaSeconds = estimated && rate > 0 ? Math.max(0, Math.round((estimated - totals.items) / rate)) : undefined;
      logger.info({ table, items: totals.items, estimatedItems: estimated, segmentsDone, segments, ratePerSec: Math.round(rate), etaSeconds }, 'backfill progress');
    }, progressIntervalMs);

    async function segment(n: number): Promise<void> {
      const sink = sinks[n]!;
      const p = progressOf(n);
      if (p.done) {
        segmentsDone++;
        return;
      }
      let start = p.lastKey ? decodeKey(p.lastKey) : undefined;
      let pages = p.pages ?? 0;
      let items = p.items ?? 0;
      let seamNo = pages;
      do {
        if (signal?.aborted) throw new Error('backfill aborted');
        const page = await ddb.send(new ScanCommand({ TableName: table, Segment: n, TotalSegments: segments, Limit: connector.backfill.pageSize, ConsistentRead: true, ExclusiveStartKey: start }));
        const out: OutgoingMessage[] = [];
        const seam = new Map<string, number>();
        for (const raw of page.Items ?? []) {
          const item = raw as Item;
          const writtenAt = mapper.writtenAtOf(item);
          if (writtenAt !== undefined && writtenAt > to) {
            totals.leftToStream++;
            continue;
          }
          const r = await mapper.map(item, { table, shardId: 'backfill', sequenceNumber: '', eventName: 'INSERT' });
          if (r.kind === 'relay') {
            out.push(r.message);
            totals.relayed++;
            if (writtenAt === undefined || writtenAt >= seamFrom) seam.set(r.persistenceId, Math.max(r.sequenceNr, seam.get(r.persistenceId) ?? 0));
          } else if (r.kind === 'dead-letter') {
            out.push(r.message);
            totals.deadLettered++;
          } else totals.filtered++;
        }
        start = page.LastEvaluatedKey;
        items += page.Items?.length ?? 0;
        pages++;
        const marks = seamRecords({ table, checkpointTopic, run: `backfill-${n}`, first: seamNo, entries: seam });
        seamNo = marks.next;
        // Per-item order within an aggregate: the scan returns a partition's items by sort key.
        await sink.commit([...out, ...marks.messages], write(segmentKey(n), { backfill: { pages, items, done: !start, ...(start ? { lastKey: encodeKey(start) } : {}) } }));
        totals.items += page.Items?.length ?? 0;
        onItems?.(page.Items?.length ?? 0);
      } while (start);
      segmentsDone++;
    }

    try {
      await Promise.all(Array.from({ length: segments }, (_, n) => segment(n)));
      const resumes = plan.heads.map((h) =>
        h.state === 'record'
          ? checkpointRecord(table, checkpointTopic, h.shardId, { sequenceNumber: null, shardEnded: false, updatedAt: Date.now(), leaseEpoch: 0, writtenAt: h.writtenAt, resumeAt: h.sequenceNumber })
          : undefined,
      );
      await sinks[0]!.commit(
        resumes.filter((m): m is OutgoingMessage => m !== undefined),
        write(BACKFILL_KEY, { backfillCompletedAt: Date.now(), backfill: { ...(plan.to === undefined ? {} : { to: plan.to }), ...(plan.seamFrom === undefined ? {} : { seamFrom: plan.seamFrom }), segments } }),
      );
    } finally {
      clearInterval(progress);
    }
    const result = { ...totals, resumed, to: Number.isFinite(to) ? to : undefined, seamFrom: Number.isFinite(to) ? seamFrom : undefined, durationMs: Date.now() - started };
    logger.info({ table, ...result }, 'backfill complete');
    return result;
  } finally {
    await Promise.all(sinks.map((s) => s.close()));
  }

  function write(key: string, fields: Partial<Checkpoint>): CheckpointWrite {
    return { topic: checkpointTopic, key: checkpointKey(table, key), checkpoint: { sequenceNumber: null, shardEnded: false, updatedAt: Date.now(), leaseEpoch: 0, ...fields } };
  }
}

/** The plan's resume points, as stored (`shardId → [sequence number, write time]`; shards whose stream was empty are left out). */
function encodeHeads(heads: readonly ShardHead[]): Record<string, [string, number]> {
  return Object.fromEntries(heads.flatMap((h) => (h.state === 'record' ? [[h.shardId, [h.sequenceNumber, h.writtenAt]]] : [])));
}
function headsOf(plan: BackfillProgress): ShardHead[] {
  return Object.entries(plan.heads ?? {}).map(([shardId, [sequenceNumber, writtenAt]]) => ({ shardId, state: 'record', sequenceNumber, writtenAt }));
}

/** True when a table's checkpoints show a bridge ran on it: a shard checkpoint, or a completed backfill. */
export function hasRelayed(checkpoints: ReadonlyMap<string, Checkpoint>): boolean {
  return [...checkpoints].some(([key, c]) => !key.startsWith(SPECIAL_KEY_PREFIX) || (key === BACKFILL_KEY && c.backfillCompletedAt !== undefined));
}

/**
 * A first start needs a snapshot unless the stream has held every write
 * since the table was created (stream enabled by CreateTable itself, table
 * younger than the retention), the table is empty, or the bridge has
 * checkpoints for it already (not a first start).
 */
export async function needsInitialSnapshot(options: {
  ddb: DynamoDBClient;
  connector: ConnectorConfig;
  hasCheckpoints: () => Promise<boolean>;
}): Promise<boolean> {
  const { ddb, connector } = options;
  if (!connector.backfill.onFirstStart) return false;
  const d = (await ddb.send(new DescribeTableCommand({ TableName: connector.table }))).Table;
  const created = d?.CreationDateTime?.getTime() ?? 0;
  // Stream labels are UTC timestamps without a zone designator.
  const rawLabel = d?.LatestStreamLabel ?? '';
  const label = Date.parse(/Z$|[+-]\d\d:?\d\d$/.test(rawLabel) ? rawLabel : `${rawLabel}Z`);
  // Enabled in the CreateTable request itself: the label is the creation instant.
  const streamSinceCreation = Number.isFinite(label) && label - created < 1_000;
  if (streamSinceCreation && Date.now() - created < STREAM_RETENTION_MS - 3600_000) return false;
  const any = await ddb.send(
    new ScanCommand({ TableName: connector.table, Limit: 1, ProjectionExpression: '#k', ExpressionAttributeNames: { '#k': connector.mapping.sequenceNr } }),
  );
  if ((any.Items?.length ?? 0) === 0 && !any.LastEvaluatedKey) return false;
  return !(await options.hasCheckpoints());
}
