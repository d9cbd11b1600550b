import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BACKFILL_KEY, type CheckpointReader } from '../log/checkpoints.js';
import type { KeyHighWaterMarks } from '../log/key-high-water.js';
import type { ShardSink } from '../log/relay-producer.js';
import type { Logger } from '../shared/logger.js';
import { runBackfill } from './backfill.js';
import type { BridgeMetrics } from './bridge-metrics.js';
import type { BridgeStatus } from './bridge-status.js';
import type { ConnectorConfig } from './connector.js';
import { REPAIR_KEY, runGapRepair } from './gap-repair.js';
import type { RecordMapper } from './mapping.js';
import type { StreamReader } from './stream-reader.js';
import type { TableSource } from './table-source.js';

/** The bridge's reads of the table itself: the first-start backfill and stream-gap repairs. */
export interface TableReads {
  /** One snapshot at a time; callers meanwhile wait for the one running. */
  backfill(reason: string): Promise<void>;
  /** One repair at a time; callers that meet trimmed data meanwhile wait for it. */
  repair(reason: string): Promise<void>;
  /** While true, the bridge starts no shard (they must resume after it). */
  busy(): boolean;
  /** Resolves once nothing runs (failures swallowed: the caller is stopping). */
  settled(): Promise<void>;
}

/**
 * Runs backfills (backfill.ts) and gap repairs (gap-repair.ts) for one
 * bridge, keeping its status and metrics. A repair first stops every shard
 * of this process (`pauseShards`), so that none relays an event of the window
 * while the repair decides what the topic holds; the bridge's rounds start
 * them again afterwards, the trimmed ones at the checkpoints it wrote.
 */
export function createTableReads(o: {
  ddb: DynamoDBClient;
  connector: ConnectorConfig;
  mapper: RecordMapper;
  reader: StreamReader;
  checkpoints: CheckpointReader;
  openSink: (name: string) => Promise<ShardSink>;
  readMarks: (sinceMs: number) => Promise<KeyHighWaterMarks>;
  logger: Logger;
  metrics: BridgeMetrics;
  /** The bridge's status: its state, streamArn, backfill and repair fields are kept here. */
  status: BridgeStatus;
  signal: AbortSignal;
  pauseShards: () => Promise<void>;
}): TableReads {
  const { connector, status, metrics, logger, signal } = o;
  const table = connector.table;
  let backfilling: Promise<void> | undefined;
  let repairing: Promise<void> | undefined;

  /** Runs `work` in state `state`, then returns to the state before (unless something else moved it meanwhile). */
  async function inState(state: 'backfilling' | 'repairing', work: () => Promise<void>) {
    const previous = status.state;
    status.state = state;
    try {
      await work();
    } finally {
      if (status.state === state) status.state = previous;
    }
  }

  /** The table and its stream as they stand now, for a read of the table. */
  const source = async (): Promise<TableSource> => ({
    ddb: o.ddb,
    connector,
    mapper: o.mapper,
    reader: o.reader,
    streamArn: status.streamArn!,
    shards: await o.reader.describeShards(status.streamArn!, signal),
    checkpoints: o.checkpoints,
  });

  return {
    backfill(reason) {
      backfilling ??= inState('backfilling', async () => {
        logger.info({ reason, segments: connector.backfill.segments }, 'backfilling the table into the topic');
        const r = await runBackfill({
          ...(await source()),
          openSink: (n) => o.openSink(`${BACKFILL_KEY}-${n}`),
          logger,
          signal,
          onItems: (n) => metrics.backfillItems.inc({ table }, n),
        });
        status.backfill.runs++;
        status.backfill.items += r.items;
        status.backfill.lastCompletedAt = Date.now();
        status.backfill.last = r;
      }).finally(() => (backfilling = undefined));
      return backfilling;
    },
    repair(reason) {
      repairing ??= inState('repairing', async () => {
        await o.pauseShards();
        const r = await runGapRepair({
          ...(await source()),
          openSink: () => o.openSink(REPAIR_KEY),
          readMarks: o.readMarks,
          logger,
          signal,
          onRelayed: (n) => metrics.gapRepairRelayed.inc({ table }, n),
        });
        if (!r) {
          logger.info({ reason }, 'no shard position is trimmed: nothing to repair');
          return;
        }
        metrics.gapRepairItemsRead.inc({ table }, r.itemsRead);
        status.repair.runs++;
        status.repair.itemsRead += r.itemsRead;
        status.repair.relayed += r.relayed;
        status.repair.lastCompletedAt = Date.now();
        status.repair.last = r;
      }).finally(() => (repairing = undefined));
      return repairing;
    },
    busy: () => backfilling !== undefined || repairing !== undefined,
    async settled() {
      await backfilling?.catch(() => undefined);
      await repairing?.catch(() => undefined);
    },
  };
}
