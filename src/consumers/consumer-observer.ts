import type { Registry } from 'prom-client';
import { errorCode, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { consumerMetrics } from './consumer-metrics.js';
import type { HandlerOutcome } from './handler.js';
import type { FailureKind } from './recovery.js';
import { remedyFor, type BlockKind } from './offset-witness.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** Where a consumer stands in its life (exported as `consumer_state`, read by `/readyz`). */
export const CONSUMER_STATES = ['starting', 'running', 'retrying', 'restarting', 'failed', 'stopping', 'stopped'] as const;
export type ConsumerState = (typeof CONSUMER_STATES)[number];

/**
 * The typed lifecycle of a consumer group's runner (Akka Projections'
 * StatusObserver, kafkajs' instrumentation events): the runner says what
 * happened, observers turn it into metrics and logs. Nothing else in the
 * runner records a metric or decides a log level.
 */
export type ConsumerEvent =
  | { type: 'state'; state: ConsumerState; reason?: string }
  | { type: 'assigned'; partitions: TopicPartition[] }
  /** `verified`: the stored offset's witness record was read back from the topic; `stored`: it could not be (none kept, or deleted by retention). */
  | { type: 'positioned'; topic: string; partition: number; offset: number; basis: 'verified' | 'stored' | 'log-start' }
  | { type: 'blocked'; topic: string; partition: number; kind: BlockKind; reason: string }
  | {
      type: 'applied'; topic: string; partition: number; records: number; outcome: HandlerOutcome<unknown>; committedAt: number;
      deadLettered: number; durationMs: number; transactionMs: number; canaryTimes: number[];
      /** When the batch was fetched, and the records' Kafka timestamps (when the bridge produced them), for the stage latencies. */
      consumedAt?: number; producedAts?: number[];
    }
  | { type: 'undecodable'; topic: string; partition: number; count: number; code: string }
  | { type: 'skipped'; topic: string; partition: number; count: number; fromOffset: number; toOffset: number }
  | { type: 'batch-failed'; topic: string; partition: number; error: unknown; kind: FailureKind; attempt: number; delayMs: number }
  /** A transaction joining several partitions' batches failed; each applies alone next (not counted as its failure). */
  | { type: 'joint-failed'; batches: number; error: unknown; kind: FailureKind }
  | { type: 'positioning-failed'; error: unknown; attempt: number; delayMs: number }
  | { type: 'crashed'; error: unknown; restartInMs: number }
  | { type: 'failed'; error: unknown; topic?: string; partition?: number };

export type ConsumerObserver = (event: ConsumerEvent) => void;

/** Metrics and logs of one group. Infrastructure retries are warnings (a person looks only if they last). */
export function consumerObserver(o: { registry: Registry; groupId: string; views: readonly string[]; logger: Logger }): ConsumerObserver {
  const m = consumerMetrics(o.registry);
  const { groupId: group, logger } = o;
  const count = (outcome: string, n: number) => {
    if (n > 0) m.events.inc({ group, outcome }, n);
  };
  return (e) => {
    switch (e.type) {
      case 'state':
        for (const s of CONSUMER_STATES) {
          m.state.set({ group, state: s }, s === e.state ? 1 : 0);
        }
        if (e.state === 'running' || e.state === 'stopped') logger.info({ state: e.state }, `consumer ${e.state}`);
        break;
      case 'assigned':
        logger.info({ partitions: e.partitions.map((p) => `${p.topic}/${p.partition}`) }, 'partitions assigned');
        break;
      case 'positioned':
        logger.debug({ topic: e.topic, partition: e.partition, offset: e.offset, basis: e.basis }, 'positioned at the offset PostgreSQL holds');
        break;
      case 'blocked':
        m.blocked.inc({ group, kind: e.kind });
        logger.error(
          { topic: e.topic, partition: e.partition, kind: e.kind },
          `partition stopped, nothing of it is applied: ${e.reason}. To go on, ${remedyFor(group, e.topic, e.kind)}`,
        );
        break;
      case 'applied': {
        const { outcome } = e;
        count('applied', outcome.applied);
        count('duplicate', outcome.duplicates);
        count('gap_repaired', outcome.gapsRepaired);
        count('parked', outcome.parked);
        count('ignored', outcome.ignored);
        count('dead_lettered', e.deadLettered);
        m.batchSize.observe({ group }, e.records);
        m.batchDuration.observe({ group }, e.durationMs / 1000);
        m.txDuration.observe({ group }, e.transactionMs / 1000);
        for (const t of e.canaryTimes) m.canaryLatency.observe({ group }, Math.max(0, (e.committedAt - t) / 1000));
        if (e.consumedAt !== undefined) {
          const consumed = m.stageLatency.labels({ group, stage: 'produced_to_consumed' });
          const applied = m.stageLatency.labels({ group, stage: 'consumed_to_committed' });
          for (const t of e.producedAts ?? []) {
            if (Number.isFinite(t)) consumed.observe(Math.max(0, e.consumedAt - t) / 1000);
            applied.observe(Math.max(0, e.committedAt - e.consumedAt) / 1000);
          }
        }
        const sourceTimes = outcome.appliedSourceTimes ?? (outcome.newestSourceTime ? [outcome.newestSourceTime] : []);
        for (const v of o.views) {
          const h = m.e2eLatency.labels({ view: v });
          for (const t of sourceTimes) h.observe(Math.max(0, (e.committedAt - t) / 1000));
        }
        break;
      }
      case 'undecodable':
        count('dead_lettered', e.count);
        logger.warn({ topic: e.topic, partition: e.partition, count: e.count, code: e.code }, 'undecodable records dead-lettered');
        break;
      case 'skipped':
        count('skipped', e.count);
        logger.error({ topic: e.topic, partition: e.partition, from: e.fromOffset, to: e.toOffset }, 'skipped a failing batch by policy');
        break;
      case 'batch-failed':
        m.errors.inc({ group, code: errorCode(e.error), kind: e.kind });
        // The first failures of a batch are routine (a restart, a deadlock); a warning per retry, rate-limited by backoff.
        logger.warn(
          { topic: e.topic, partition: e.partition, code: errorCode(e.error), err: errorMessage(e.error), kind: e.kind, attempt: e.attempt, retryInMs: e.delayMs },
          e.kind === 'infrastructure' ? 'batch failed on a dependency; retrying' : 'batch failed; retrying by policy',
        );
        break;
      case 'joint-failed':
        m.errors.inc({ group, code: errorCode(e.error), kind: e.kind });
        logger.warn({ batches: e.batches, code: errorCode(e.error), err: errorMessage(e.error), kind: e.kind }, 'joint transaction failed; its batches apply alone');
        break;
      case 'positioning-failed':
        m.errors.inc({ group, code: errorCode(e.error), kind: 'infrastructure' });
        logger.warn({ code: errorCode(e.error), err: errorMessage(e.error), attempt: e.attempt, retryInMs: e.delayMs }, 'could not read where the group stands; partitions stay paused, retrying');
        break;
      case 'crashed':
        m.restarts.inc({ group });
        logger.warn({ code: errorCode(e.error), err: errorMessage(e.error), restartInMs: e.restartInMs }, 'Kafka consumer stopped; restarting');
        break;
      case 'failed':
        logger.error(
          { topic: e.topic, partition: e.partition, code: errorCode(e.error), err: errorMessage(e.error) },
          'consumer failed by its recovery policy and stopped; fix the cause, then restart the role',
        );
        break;
    }
  };
}
