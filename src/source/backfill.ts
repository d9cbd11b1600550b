import { DescribeTableCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BACKFILL_KEY, checkpointKey } from '../log/checkpoints.js';
import type { OutgoingMessage, ShardSink } from '../log/relay-producer.js';
import type { Logger } from '../shared/logger.js';
import type { ConnectorConfig } from './connector.js';
import type { RecordMapper } from './mapping.js';
import { STREAM_RETENTION_MS } from './shard-worker.js';

export interface BackfillResult {
  items: number;
  relayed: number;
  deadLettered: number;
  filtered: number;
  durationMs: number;
}

/**
 * Relays a snapshot of the whole table (parallel Scan segments) into the
 * topic, then writes the `<table>/$backfill` marker. Run before the stream
 * is read from TRIM_HORIZON: every item existing when the scan passes it is
 * relayed, every later write is still in the stream, so the seam can only
 * produce duplicates (consumers drop them by sequence_nr), never gaps. Each
 * scan page commits as one batch through its segment's sink; a crash
 * restarts the backfill (more duplicates, no loss).
 */
export async function runBackfill(options: {
  ddb: DynamoDBClient;
  connector: ConnectorConfig;
  mapper: RecordMapper;
  /** One sink per segment (segments commit concurrently). */
  sinks: ShardSink[];
  logger: Logger;
  signal?: AbortSignal;
  onItems?: (n: number) => void;
  progressIntervalMs?: number;
}): Promise<BackfillResult> {
  const { ddb, connector, mapper, sinks, logger, signal, onItems, progressIntervalMs = 5_000 } = options;
  const segments = sinks.length;
  const started = Date.now();
  const totals = { items: 0, relayed: 0, deadLettered: 0, filtered: 0 };
  let segmentsDone = 0;
  // DescribeTable's ItemCount is approximate (refreshed about every 6 h on AWS): good enough for an ETA.
  const estimated = await ddb
    .send(new DescribeTableCommand({ TableName: connector.table }))
    .then((d) => d.Table?.ItemCount)
    .catch(() => undefined);
  const progress = setInterval(() => {
    const s = (Date.now() - started) / 1000;
    const rate = totals.items / s;
    const etaSeconds = estimated && rate > 0 ? Math.max(0, Math.round((estimated - totals.items) / rate)) : undefined;
    logger.info(
      { table: connector.table, items: totals.items, estimatedItems: estimated, segmentsDone, segments, ratePerSec: Math.round(rate), etaSeconds },
      'backfill progress',
    );
  }, progressIntervalMs);
  const marker = (completed: boolean) => ({
    topic: connector.checkpointTopic,
    key: checkpointKey(connector.table, BACKFILL_KEY),
    checkpoint: {
      sequenceNumber: null,
      shardEnded: false,
      updatedAt: Date.now(),
      leaseEpoch: 0,
      ...(completed ? { backfillCompletedAt: Date.now() } : {}),
    },
  });

  async function segment(n: number): Promise<void> {
    const sink = sinks[n]!;
    let start: Record<string, AttributeValue> | undefined;
    do {
      if (signal?.aborted) throw new Error('backfill aborted');
      const page = await ddb.send(
        new ScanCommand({
          TableName: connector.table,
          Segment: n,
          TotalSegments: segments,
          Limit: connector.backfill.pageSize,
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      const out: OutgoingMessage[] = [];
      for (const item of page.Items ?? []) {
        const r = await mapper.map(item, { table: connector.table, shardId: 'backfill', sequenceNumber: '', eventName: 'INSERT' });
        if (r.kind === 'relay') {
          out.push(r.message);
          totals.relayed++;
        } else if (r.kind === 'dead-letter') {
          out.push(r.message);
          totals.deadLettered++;
        } else totals.filtered++;
      }
      // Per-item order within an aggregate: the scan returns a partition's items by sort key.
      if (out.length > 0) await sink.commit(out, marker(false));
      totals.items += page.Items?.length ?? 0;
      onItems?.(page.Items?.length ?? 0);
      start = page.LastEvaluatedKey;
    } while (start);
    segmentsDone++;
  }

  try {
    await Promise.all(Array.from({ length: segments }, (_, n) => segment(n)));
    await sinks[0]!.commit([], marker(true));
  } finally {
    clearInterval(progress);
  }
  const result = { ...totals, durationMs: Date.now() - started };
  logger.info({ table: connector.table, ...result }, 'backfill complete');
  return result;
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
