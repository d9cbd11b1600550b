import { errorCode } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { BridgeMetrics } from './bridge-metrics.js';
import { initialShardStatus, reduceShardStatus, type ShardEvent, type ShardStatus, type TransactionTiming } from './shard-state.js';

export interface ShardObserver {
  observe(event: ShardEvent): void;
  /** The status folded from the events seen so far (a fresh object each time it changes). */
  status(): ShardStatus;
}

/** Transient faults are logged on the first attempts and then every tenth: a long outage must not flood the log. */
const logFault = (attempt: number) => attempt <= 3 || attempt % 10 === 0;

/**
 * Turns one shard worker's events into its status, its `cdc_bridge_*`
 * metrics and its log lines — the one place they are written. Log levels
 * follow "ERROR means a person should look": transient faults are warnings,
 * a shard stopped on a programming error is an error.
 */
export function createShardObserver(options: { shardId: string; table: string; metrics: BridgeMetrics; logger: Logger }): ShardObserver {
  const { shardId, table, metrics } = options;
  const logger = options.logger.child({ shardId });
  const labels = { table, shard: shardId };
  let status = initialShardStatus(shardId);

  const stage = (name: string) => metrics.stageLatency.labels({ table, stage: name });
  const toRead = stage('journal_to_read');
  const toProduced = stage('read_to_produced');
  const toCommitted = stage('produced_to_committed');
  /** One observation per record and stage (seconds; a clock step backwards counts as 0). */
  function observeStages(timing: TransactionTiming, committedAt: number): void {
    const s = (ms: number) => Math.max(0, ms) / 1000;
    for (const page of timing.pages) {
      for (const w of page.writtenAts) toRead.observe(s(page.readAt - w));
      for (let i = 0; i < page.messages; i++) {
        toProduced.observe(s(timing.producedAt - page.readAt));
        toCommitted.observe(s(committedAt - timing.producedAt));
      }
    }
  }

  function record(e: ShardEvent): void {
    switch (e.type) {
      case 'positioned':
        logger.info({ after: e.after ?? 'TRIM_HORIZON' }, e.resumed ? 'shard relay resumed after a transient fault' : 'shard relay started');
        break;
      case 'page-read':
        metrics.getRecordsSeconds.observe({ table }, e.latencyMs / 1000);
        metrics.recordsRead.inc(labels, e.records);
        break;
      case 'committed':
        metrics.recordsRelayed.inc(labels, e.relayed);
        for (const reason of e.filtered) metrics.recordsFiltered.inc({ ...labels, event_name: reason });
        for (const d of e.deadLettered) {
          metrics.recordsDeadLettered.inc({ ...labels, error_code: d.code });
          logger.warn({ code: d.code, reason: d.reason, seq: d.sequenceNumber }, 'record dead-lettered');
        }
        metrics.transactionsCommitted.inc({ table });
        metrics.batchSize.observe({ table }, e.records);
        metrics.lastCheckpointAt.set(labels, e.at / 1000);
        if (e.lastWrittenAt !== undefined) metrics.writtenAtAgeMs.set(labels, e.at - e.lastWrittenAt);
        if (e.timing) observeStages(e.timing, e.at);
        break;
      case 'polled':
        metrics.checkpointAgeSeconds.set(labels, status.lastCommitAt ? (e.at - status.lastCommitAt) / 1000 : 0);
        metrics.iteratorAgeMs.set(labels, e.iteratorAgeMs);
        break;
      case 'transient-fault':
        metrics.transientFaults.inc({ table, stage: e.stage });
        if (logFault(e.attempt)) {
          logger.warn(
            { err: e.error, code: errorCode(e.error), stage: e.stage, attempt: e.attempt },
            'transient fault; retrying with backoff from the committed checkpoint',
          );
        }
        break;
      case 'producer-reset':
        metrics.producerResets.inc({ table });
        break;
      case 'iterator-renewed':
        if (e.reason === 'spurious-trim') logger.warn({ trims: e.attempt }, 'GetRecords reported trimmed data for a live position; renewing the iterator');
        else logger.debug('shard iterator expired; renewing it from the checkpoint');
        break;
      case 'finished':
        logger.info({ lastSeq: e.lastSequenceNumber }, 'shard relayed to its end');
        break;
      case 'trimmed':
        logger.warn({ after: e.after }, 'shard position is older than the stream retention');
        break;
      case 'failed':
        metrics.shardFailures.inc({ ...labels, stage: e.stage });
        logger.error(
          { err: e.error, code: errorCode(e.error), stage: e.stage, sequenceNumber: e.sequenceNumber },
          `shard ${shardId} stopped on a programming error at sequence number ${e.sequenceNumber ?? '(start)'}: not retried; ` +
            'other shards keep running, this one resumes from its checkpoint once the process is restarted with a fix',
        );
        break;
      case 'lost-lease':
        logger.info('lease lost; shard relay stopped');
        break;
      case 'stopped':
        break;
    }
  }

  return {
    observe(event) {
      // Status first: the metrics of 'polled' read the commit time it holds.
      status = reduceShardStatus(status, event);
      record(event);
    },
    status: () => status,
  };
}
