import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import { checkpointKey, type Checkpoint, type CheckpointReader } from '../log/checkpoints.js';
import { ProducerFencedError, type OutgoingMessage, type ShardSink } from '../log/relay-producer.js';
import { errorCode } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { backoffDelay, sleep } from '../shared/retry.js';
import type { Item } from './attributes.js';
import type { BridgeMetrics } from './bridge-metrics.js';
import type { ConnectorConfig } from './connector.js';
import type { RecordMapper } from './mapping.js';
import { IteratorExpiredError, TrimmedDataError, type RecordsPage, type StreamReader } from './stream-reader.js';

/** DynamoDB Streams keeps records for 24 hours. */
export const STREAM_RETENTION_MS = 24 * 3600_000;

export type ShardOutcome = 'ended' | 'stopped' | 'lost-lease';

export interface ShardStatus {
  shardId: string;
  state: 'starting' | 'reading' | 'recovering' | 'ended' | 'stopped' | 'lost-lease';
  lastSequenceNumber: string | null;
  relayed: number;
  deadLettered: number;
  filtered: number;
  lastCommitAt: number | undefined;
}

/**
 * Relays one shard until it ends, the lease is lost or the signal aborts.
 *
 * Guarantee (exactly-once mode): each GetRecords page is committed as one
 * Kafka transaction holding its records, its dead letters and the shard
 * checkpoint; on any failure the producer is re-created with the same
 * transactional id and the position re-read from the committed checkpoint,
 * so a page is either fully in the topic with its checkpoint or not at all.
 * Records are written in stream order, which for one item key is write
 * order.
 */
export async function runShard(ctx: {
  connector: ConnectorConfig;
  streamArn: string;
  shardId: string;
  reader: StreamReader;
  mapper: RecordMapper;
  /** Builds (and initialises, which fences predecessors) the shard's sink. */
  openSink: () => Promise<ShardSink>;
  checkpoints: CheckpointReader;
  /** Is this worker still allowed to write the shard? */
  leaseValid: () => boolean;
  leaseEpoch: () => number;
  /** Start from TRIM_HORIZON whatever the checkpoint says (after a backfill of trimmed data). */
  fromTrimHorizon?: boolean;
  metrics: BridgeMetrics;
  logger: Logger;
  signal: AbortSignal;
  status: ShardStatus;
}): Promise<ShardOutcome> {
  const { connector, streamArn, shardId, reader, mapper, checkpoints, metrics, signal, status } = ctx;
  const table = connector.table;
  const logger = ctx.logger.child({ shardId });
  const labels = { table, shard: shardId };
  let fromTrimHorizon = ctx.fromTrimHorizon ?? false;

  async function position(): Promise<Checkpoint | undefined> {
    const c = (await checkpoints.read(table)).get(shardId);
    if (fromTrimHorizon && c && !c.shardEnded) return undefined;
    return c;
  }

  const sink = await ctx.openSink();
  try {
    let pos = await position();
    status.lastSequenceNumber = pos?.sequenceNumber ?? null;
    if (pos?.shardEnded) return (status.state = 'ended');
    let iterator = await reader.iterator(streamArn, shardId, pos?.sequenceNumber, signal);
    let failures = 0;
    let trims = 0;
    let prefetched: Promise<RecordsPage> | undefined;
    status.state = 'reading';
    logger.info({ after: pos?.sequenceNumber ?? 'TRIM_HORIZON' }, 'shard relay started');

    const recover = async (err: unknown): Promise<boolean> => {
      failures++;
      status.state = 'recovering';
      logger.warn({ err, failures, code: errorCode(err) }, 'batch failed; re-initialising the producer and re-reading the checkpoint');
      await sleep(backoffDelay(Math.min(failures, 8), 200, 10_000), signal);
      if (err instanceof ProducerFencedError && !ctx.leaseValid()) return false;
      for (let attempt = 0; !signal.aborted; attempt++) {
        try {
          // Re-initialising fences the stuck incarnation and completes its transaction.
          await sink.reset();
          metrics.producerResets.inc({ table });
          pos = await position();
          iterator = await reader.iterator(streamArn, shardId, pos?.sequenceNumber, signal);
          status.lastSequenceNumber = pos?.sequenceNumber ?? null;
          status.state = 'reading';
          fromTrimHorizon = false;
          return true;
        } catch (e) {
          logger.warn({ err: e, attempt }, 'producer re-initialisation failed; retrying');
          await sleep(backoffDelay(Math.min(attempt, 8), 500, 10_000), signal);
        }
      }
      return true;
    };

    while (!signal.aborted) {
      if (!ctx.leaseValid()) return (status.state = 'lost-lease');
      if (iterator === undefined) {
        // No iterator for a closed shard that was read to its end.
        await sink.commit([], checkpointOf(pos?.sequenceNumber ?? null, true));
        return (status.state = 'ended');
      }
      let page;
      try {
        const fetching = prefetched ?? reader.getRecords(iterator, connector.batch.maxRecords, signal);
        prefetched = undefined;
        page = await fetching;
        trims = 0;
      } catch (err) {
        if (err instanceof TrimmedDataError) {
          // GetRecords can report trimming for an iterator whose position is
          // still in the stream (DynamoDB Local does so for a TRIM_HORIZON
          // iterator taken on an empty shard). Only a position that is really
          // gone — GetShardIterator refuses it, or the checkpoint is older
          // than the retention — is escalated to a backfill.
          const stale = pos !== undefined && Date.now() - pos.updatedAt > STREAM_RETENTION_MS;
          if (stale || ++trims > 5) throw err;
          logger.warn({ trims }, 'GetRecords reported trimmed data for a live position; renewing the iterator');
          await sleep(backoffDelay(trims, 100, 2_000), signal);
        } else if (!(err instanceof IteratorExpiredError)) throw err;
        // Iterator expiry (15 min) or a spurious trim: renew from the last committed position.
        iterator = await reader.iterator(streamArn, shardId, pos?.sequenceNumber, signal);
        continue;
      }
      metrics.getRecordsSeconds.observe({ table }, page.latencyMs / 1000);
      const { records, nextIterator } = page;
      const ended = nextIterator === undefined;
      let out: OutgoingMessage[];
      let counts: Awaited<ReturnType<typeof mapAll>>['counts'];
      try {
        ({ out, counts } = await mapAll(records));
      } catch (err) {
        // Retriable mapping failure (registry unavailable): read the same page again later.
        logger.warn({ err }, 'mapping failed; retrying the page');
        await sleep(backoffDelay(Math.min(++failures, 8), 200, 10_000), signal);
        continue;
      }
      const last = records.at(-1);
      const lastSeq = last?.dynamodb?.SequenceNumber ?? pos?.sequenceNumber ?? null;
      const created = last?.dynamodb?.ApproximateCreationDateTime;
      // Catching up (a full page, or records already seconds old) reads on at
      // once; at the head of the stream a short pause lets the next page fill.
      const full = records.length >= connector.batch.maxRecords;
      const behind = created !== undefined && Date.now() - new Date(created).getTime() > 2_000;
      if (!ended && records.length > 0 && (full || behind)) {
        // Read the next page while this one commits. It is used only if the
        // commit succeeds; after a failure the position comes from the checkpoint.
        prefetched = reader.getRecords(nextIterator, connector.batch.maxRecords, signal);
        prefetched.catch(() => undefined);
      }
      if (records.length > 0 || ended) {
        if (!ctx.leaseValid()) return (status.state = 'lost-lease');
        try {
          await sink.commit(out, checkpointOf(lastSeq, ended));
        } catch (err) {
          prefetched = undefined;
          if (!(await recover(err))) return (status.state = 'lost-lease');
          continue;
        }
        failures = 0;
        pos = { sequenceNumber: lastSeq, shardEnded: ended, updatedAt: Date.now(), leaseEpoch: ctx.leaseEpoch() };
        status.lastSequenceNumber = lastSeq;
        status.lastCommitAt = Date.now();
        status.relayed += counts.relayed;
        status.deadLettered += counts.dead;
        status.filtered += counts.filtered;
        metrics.recordsRelayed.inc(labels, counts.relayed);
        for (const code of counts.deadCodes) metrics.recordsDeadLettered.inc({ ...labels, error_code: code });
        metrics.transactionsCommitted.inc({ table });
        metrics.batchSize.observe({ table }, records.length);
        metrics.lastCheckpointAt.set(labels, Date.now() / 1000);
        if (counts.lastWrittenAt !== undefined) metrics.writtenAtAgeMs.set(labels, Date.now() - counts.lastWrittenAt);
      }
      metrics.checkpointAgeSeconds.set(labels, status.lastCommitAt ? (Date.now() - status.lastCommitAt) / 1000 : 0);
      metrics.iteratorAgeMs.set(labels, created ? Math.max(0, Date.now() - new Date(created).getTime()) : 0);
      if (ended) {
        logger.info({ lastSeq }, 'shard relayed to its end');
        return (status.state = 'ended');
      }
      iterator = nextIterator;
      if (records.length === 0) await sleep(connector.batch.idlePollIntervalMs, signal);
      else if (!full && !behind) await sleep(connector.batch.pollIntervalMs, signal);
    }
    return (status.state = 'stopped');
  } finally {
    await sink.close();
  }

  function checkpointOf(sequenceNumber: string | null, shardEnded: boolean) {
    return {
      topic: connector.checkpointTopic,
      key: checkpointKey(table, shardId),
      checkpoint: { sequenceNumber, shardEnded, updatedAt: Date.now(), leaseEpoch: ctx.leaseEpoch() },
    };
  }

  async function mapAll(records: _Record[]) {
    const out: OutgoingMessage[] = [];
    const counts = { relayed: 0, dead: 0, filtered: 0, lastWrittenAt: undefined as number | undefined, deadCodes: [] as string[] };
    for (const r of records) {
      const created = r.dynamodb?.ApproximateCreationDateTime;
      const result = await mapper.map(r.dynamodb?.NewImage as Item | undefined, {
        table,
        shardId,
        sequenceNumber: r.dynamodb?.SequenceNumber ?? '',
        eventName: r.eventName ?? '',
        ...(created ? { approximateCreatedAt: new Date(created).getTime() } : {}),
      });
      if (result.kind === 'relay') {
        out.push(result.message);
        counts.relayed++;
        if (result.writtenAt !== undefined) counts.lastWrittenAt = result.writtenAt;
      } else if (result.kind === 'dead-letter') {
        out.push(result.message);
        counts.dead++;
        counts.deadCodes.push(result.code);
        logger.warn({ code: result.code, reason: result.reason, seq: r.dynamodb?.SequenceNumber }, 'record dead-lettered');
      } else {
        counts.filtered++;
        metrics.recordsFiltered.inc({ ...labels, event_name: result.reason });
      }
    }
    metrics.recordsRead.inc(labels, records.length);
    return { out, counts };
  }
}
