import type { Registry } from 'prom-client';
import type { Logger } from '../shared/logger.js';
import { confluentErrorType, createConfluentKafka, type ConfluentProducer } from './confluent-client.js';
import type { KafkaSettings } from './kafka.js';
import { atLeastOnceSinkOf, holdProducer, ProducerFencedError, SinkFailedError, toTopicMessages, withTimeout, type ShardSink, type SinkHooks } from './relay-producer.js';

/**
 * The bridge's {@link ShardSink} on librdkafka (@confluentinc/kafka-javascript,
 * KafkaJS-compatible API), selected by BRIDGE_KAFKA_CLIENT=confluent. Same
 * contract as the kafkajs sinks in relay-producer.ts; what differs:
 *
 * - connect() runs InitProducerId (librdkafka's init_transactions), so opening
 *   the sink fences every earlier producer of the transactional id and
 *   completes its open transaction before the caller reads its checkpoint;
 * - librdkafka batches per partition itself (message.max.bytes), so one
 *   sendBatch carries the records and the checkpoint; it resolves once every
 *   record is acknowledged by all in-sync replicas (idempotence forces
 *   acks=all) and the commit follows;
 * - keys are partitioned by murmur2_random, the Java client's murmur2 (the
 *   compatibility layer sets it), as kafkajs' DefaultPartitioner does;
 * - the compatibility layer bounds init, commit and abort at 5 s each
 *   (librdkafka's timeout argument); past that the call fails as retriable and
 *   the worker resets the sink, whose InitProducerId waits out whatever the
 *   coordinator was still completing.
 */

interface SinkOptions {
  settings: KafkaSettings;
  logger: Logger;
  hooks?: SinkHooks;
  operationTimeoutMs?: number;
  registry?: Registry;
}

/** Fenced: by code, or a fatal error (ERR__FATAL) whose message names the fencing. */
function classify(err: unknown): { type: string; fenced: boolean } {
  const c = confluentErrorType(err);
  const message = err instanceof Error ? err.message : String(err);
  return c.fenced || /fenced|old epoch/i.test(message) ? { type: c.fenced ? c.type : 'PRODUCER_FENCED', fenced: true } : c;
}

/**
 * A transactional producer for one shard on librdkafka: the records and the
 * checkpoint in one transaction, visible to read_committed consumers together
 * or not at all. Throws {@link ProducerFencedError} when a newer producer took
 * the transactional id, {@link SinkFailedError} otherwise; the open
 * transaction is aborted (best effort) before either is thrown.
 */
export async function createConfluentTransactionalSink(
  options: SinkOptions & { transactionalId: string; transactionTimeoutMs?: number; clientIdSuffix?: string },
): Promise<ShardSink> {
  const { settings, logger, hooks = {}, transactionalId, transactionTimeoutMs = 30_000, operationTimeoutMs = 30_000 } = options;
  const kafka = createConfluentKafka(settings, logger, { clientIdSuffix: options.clientIdSuffix ?? transactionalId, ...(options.registry ? { registry: options.registry } : {}) });
  const build = () =>
    kafka.producer({
      kafkaJS: { transactionalId, idempotent: true, transactionTimeout: transactionTimeoutMs, acks: -1 },
    });
  const teardown = (p: ConfluentProducer) =>
    withTimeout(p.disconnect(), 10_000, 'producer disconnect').catch((err: unknown) =>
      logger.warn({ err, transactionalId }, 'producer disconnect failed; dropping it'),
    );
  async function open(): Promise<ConfluentProducer> {
    const p = build();
    try {
      await withTimeout(p.connect(), operationTimeoutMs, `connecting and initialising ${transactionalId}`);
      return p;
    } catch (err) {
      await teardown(p);
      const { type, fenced } = classify(err);
      if (fenced) throw new ProducerFencedError(transactionalId, err);
      throw new SinkFailedError(type, err);
    }
  }
  const held = await holdProducer(open, teardown, hooks);

  return {
    transactionalId,
    async commit(messages, checkpoint) {
      const started = performance.now();
      let began = false;
      try {
        await withTimeout(held.get().transaction(), operationTimeoutMs, 'begin transaction');
        began = true;
        await withTimeout(held.get().sendBatch({ topicMessages: toTopicMessages(messages, checkpoint) }), operationTimeoutMs, 'transactional send');
        await withTimeout(held.get().commit(), operationTimeoutMs, 'commit');
        hooks.onCommitted?.(messages.length, performance.now() - started);
      } catch (err) {
        let { type, fenced } = classify(err);
        // A fenced producer's sends fail as purged (its queue is emptied on the fatal error); the abort
        // that follows names the cause. Best effort otherwise: the reset that follows fences it either way.
        if (began && held.get().isActive()) {
          const abortError = await withTimeout(held.get().abort(), 10_000, 'abort').then(
            () => undefined,
            (e: unknown) => e,
          );
          if (!fenced && abortError !== undefined && classify(abortError).fenced) ({ type, fenced } = classify(abortError));
        }
        hooks.onAborted?.(type);
        if (fenced) throw new ProducerFencedError(transactionalId, err);
        throw new SinkFailedError(type, err);
      }
    },
    reset: held.reset,
    close: held.close,
  };
}

/** At-least-once on librdkafka: an idempotent producer; the checkpoint is sent only after every record is acknowledged. */
export async function createConfluentAtLeastOnceSink(options: SinkOptions & { clientIdSuffix?: string }): Promise<ShardSink> {
  const { settings, logger, hooks = {}, operationTimeoutMs = 30_000 } = options;
  const kafka = createConfluentKafka(settings, logger, { clientIdSuffix: options.clientIdSuffix ?? 'relay', ...(options.registry ? { registry: options.registry } : {}) });
  return atLeastOnceSinkOf({
    // acks=-1 is the producer's (librdkafka splits requests by message.max.bytes itself).
    build: () => kafka.producer({ kafkaJS: { idempotent: true, acks: -1 } }),
    send: (p: ConfluentProducer, topicMessages) => p.sendBatch({ topicMessages }),
    errorType: (err) => classify(err).type,
    logger,
    hooks,
    operationTimeoutMs,
  });
}
