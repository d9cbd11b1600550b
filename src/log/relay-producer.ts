import { Partitioners, type Producer } from 'kafkajs';
import { kafkajsOf } from './kafka.js';
import type { LogClient } from './port.js';
import { PipelineError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { encodeCheckpoint, type Checkpoint } from './checkpoints.js';
import { createConfluentAtLeastOnceSink, createConfluentTransactionalSink } from './confluent-sink.js';
import { confluentSinkOf } from './kafka.js';

/**
 * The bridge's only contact with the Kafka producer API. Everything kafkajs
 * specific — transactions, idempotence, the partitioner, the error codes of
 * its known transaction bugs — stays in this file; with BRIDGE_KAFKA_CLIENT=
 * confluent the same contract runs on librdkafka (confluent-sink.ts).
 */

export interface OutgoingMessage {
  topic: string;
  key: string;
  /** null: a tombstone. */
  value: Buffer | null;
  headers: Record<string, string>;
}

export interface CheckpointWrite {
  topic: string;
  key: string;
  checkpoint: Checkpoint;
}

export interface ShardSink {
  readonly transactionalId: string | undefined;
  /**
   * exactly-once: the messages and the checkpoint in one transaction — both
   * visible to read_committed consumers, or neither.
   * at-least-once: the messages, acknowledged by all in-sync replicas, then
   * the checkpoint; a crash between the two re-relays the batch.
   * Throws {@link ProducerFencedError} when another producer took the
   * transactional id, {@link SinkFailedError} for anything else; after
   * either the sink must be {@link ShardSink.reset} before it is used again.
   */
  commit(messages: OutgoingMessage[], checkpoint: CheckpointWrite): Promise<void>;
  /** Tears the client down and builds a fresh one (same transactional id: re-initialising fences every earlier incarnation). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export class ProducerFencedError extends PipelineError {
  constructor(transactionalId: string, cause: unknown) {
    super('PRODUCER_FENCED', `transactional id ${transactionalId} was taken over by a newer producer (or its transaction timed out)`, {
      retriable: false,
      cause,
    });
  }
}

export class SinkFailedError extends PipelineError {
  constructor(kafkaType: string, cause: unknown) {
    super('SINK_FAILED', `relay to Kafka failed (${kafkaType}); the producer is re-created and the batch re-read from the checkpoint`, {
      retriable: true,
      cause,
    });
  }
}

export interface SinkHooks {
  onCommitted?: (messages: number, durationMs: number) => void;
  onAborted?: (reason: string) => void;
  onReset?: (reason: string) => void;
}

const FENCED = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']);

/** The kafkajs error type (e.g. CONCURRENT_TRANSACTIONS) anywhere in the cause chain. */
export function kafkaErrorType(err: unknown): string {
  for (let e: unknown = err, depth = 0; e && depth < 6; depth++) {
    const x = e as { type?: unknown; name?: unknown; originalError?: unknown; cause?: unknown; message?: unknown };
    if (typeof x.type === 'string' && x.type !== 'UNKNOWN') return x.type;
    if (typeof x.message === 'string' && /fenced/i.test(x.message)) return 'PRODUCER_FENCED';
    e = x.originalError ?? x.cause;
  }
  return (err as { name?: string } | undefined)?.name ?? 'UNKNOWN';
}

/** `p`, or a retriable KAFKA_TIMEOUT after `ms` (the client's own timeouts do not bound every step; both sinks use this). */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new PipelineError('KAFKA_TIMEOUT', `${what} did not finish within ${ms} ms`, { retriable: true })), ms);
    }),
  ]);
}

/** A transaction's messages per topic (the checkpoint last), as both clients' sendBatch takes them. */
export interface RelayTopicMessages {
  topic: string;
  messages: { key: string; value: Buffer | null; headers?: Record<string, string> }[];
}

/** The messages grouped by topic, the checkpoint (when given) with them: one sendBatch. */
export function toTopicMessages(messages: OutgoingMessage[], checkpoint: CheckpointWrite | undefined): RelayTopicMessages[] {
  const byTopic = new Map<string, RelayTopicMessages['messages']>();
  const push = (topic: string, m: RelayTopicMessages['messages'][number]) => {
    let list = byTopic.get(topic);
    if (!list) byTopic.set(topic, (list = []));
    list.push(m);
  };
  for (const m of messages) push(m.topic, { key: m.key, value: m.value, headers: m.headers });
  if (checkpoint) push(checkpoint.topic, { key: checkpoint.key, value: encodeCheckpoint(checkpoint.checkpoint) });
  return [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs }));
}

/**
 * The producer a sink holds: opened once, and on `reset` torn down and
 * opened afresh (for a transactional one, re-initialising fences every
 * earlier incarnation). Every sink of both clients keeps its producer so.
 */
export async function holdProducer<P>(open: () => Promise<P>, teardown: (p: P) => Promise<unknown>, hooks: SinkHooks) {
  let current = await open();
  return {
    get: () => current,
    async reset() {
      hooks.onReset?.('reset');
      await teardown(current);
      current = await open();
    },
    async close() {
      await teardown(current);
    },
  };
}

/** Under the broker's default message.max.bytes (1 MiB) for one partition's batch, with room for batch overhead. */
const DEFAULT_MAX_REQUEST_BYTES = 768 * 1024;

/** Roughly what a message weighs in a Kafka record batch (key, value, headers). */
export function messageBytes(m: OutgoingMessage): number {
  let n = 24 + m.key.length + (m.value?.length ?? 0);
  for (const k in m.headers) n += 2 + k.length + m.headers[k]!.length;
  return n;
}

/** Consecutive runs of messages of at most `maxBytes` each (a single larger message is a run of its own); order kept. */
export function chunkByBytes(messages: OutgoingMessage[], maxBytes: number): OutgoingMessage[][] {
  const chunks: OutgoingMessage[][] = [];
  let current: OutgoingMessage[] = [];
  let bytes = 0;
  for (const m of messages) {
    const b = messageBytes(m);
    if (current.length > 0 && bytes + b > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += b;
  }
  if (current.length > 0 || chunks.length === 0) chunks.push(current);
  return chunks;
}

/**
 * A transactional producer for one shard. The transactional id is derived
 * from table and shard by the caller, so whichever process reads the shard
 * next — a restarted worker or the lease's new owner — fences this one.
 * Creating it (InitProducerId) also completes a predecessor's open
 * transaction, which is why checkpoints are read only after it resolves.
 */
export async function createTransactionalSink(options: {
  kafka: LogClient;
  transactionalId: string;
  logger: Logger;
  hooks?: SinkHooks;
  transactionTimeoutMs?: number;
  operationTimeoutMs?: number;
  /** Messages per produce request are cut at about this many bytes (keys, values, headers). */
  maxRequestBytes?: number;
}): Promise<ShardSink> {
  const { kafka, transactionalId, logger, hooks = {}, transactionTimeoutMs = 30_000, operationTimeoutMs = 30_000, maxRequestBytes = DEFAULT_MAX_REQUEST_BYTES } = options;
  const confluent = confluentSinkOf(kafka);
  if (confluent) return createConfluentTransactionalSink({ ...confluent, logger, hooks, transactionalId, transactionTimeoutMs, operationTimeoutMs });
  const build = () =>
    kafkajsOf(kafka).producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: transactionTimeoutMs,
      createPartitioner: Partitioners.DefaultPartitioner,
      // kafkajs keeps retrying idempotent sends indefinitely by default (limiting
      // it "may invalidate EoS"); our own timeouts bound each step instead.
      // The first retry after 20 ms, not 100: a transaction begun right after
      // the previous commit meets CONCURRENT_TRANSACTIONS until the broker has
      // written that commit's markers, a matter of milliseconds (the Java
      // client retries AddPartitionsToTxn after 20 ms for the same reason).
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 20, maxRetryTime: 2_000 },
    });
  /**
   * kafkajs sends InitProducerId for the transactional id only at the first
   * transaction(), not at connect(): begin and abort an empty transaction
   * (no EndTxn is sent for it) so that predecessors are fenced, and their open
   * transaction completed, before the caller reads its checkpoint.
   */
  async function connectAndFence(p: Producer) {
    await withTimeout(p.connect(), operationTimeoutMs, `connecting ${transactionalId}`);
    const tx = await withTimeout(p.transaction(), operationTimeoutMs, `initialising ${transactionalId}`);
    await withTimeout(tx.abort(), operationTimeoutMs, 'abort of the fencing transaction');
  }
  async function teardown(p: Producer) {
    await withTimeout(p.disconnect(), 10_000, 'producer disconnect').catch((err: unknown) =>
      logger.warn({ err, transactionalId }, 'producer disconnect failed; dropping it'),
    );
  }
  /** A fresh producer, connected and fenced; torn down again if that fails (Kafka unavailable), so none leaks. */
  async function open(): Promise<Producer> {
    const p = build();
    try {
      await connectAndFence(p);
      return p;
    } catch (err) {
      await teardown(p);
      throw err;
    }
  }
  const held = await holdProducer(open, teardown, hooks);

  return {
    transactionalId,
    async commit(messages, checkpoint) {
      const started = performance.now();
      let tx: Awaited<ReturnType<Producer['transaction']>> | undefined;
      try {
        tx = await withTimeout(held.get().transaction(), operationTimeoutMs, 'begin transaction');
        // Several produce requests in one transaction when it is large: each
        // stays under the broker's 1 MiB limit per partition batch, whatever
        // the keys' spread; the checkpoint rides in the last.
        const chunks = chunkByBytes(messages, maxRequestBytes);
        for (let i = 0; i < chunks.length; i++) {
          const topicMessages = toTopicMessages(chunks[i]!, i === chunks.length - 1 ? checkpoint : undefined);
          await withTimeout(tx.sendBatch({ topicMessages, acks: -1 }), operationTimeoutMs, 'transactional send');
        }
        await withTimeout(tx.commit(), operationTimeoutMs, 'commit');
        hooks.onCommitted?.(messages.length, performance.now() - started);
      } catch (err) {
        const type = kafkaErrorType(err);
        hooks.onAborted?.(type);
        // Best effort: a stuck ABORTING/COMMITTING state (kafkajs #1282) makes
        // abort fail too; the reset that follows fences it either way.
        if (tx?.isActive()) await withTimeout(tx.abort(), 5_000, 'abort').catch(() => undefined);
        if (FENCED.has(type)) throw new ProducerFencedError(transactionalId, err);
        throw new SinkFailedError(type, err);
      }
    },
    reset: held.reset,
    close: held.close,
  };
}

/**
 * At-least-once sink: an idempotent producer, one in-flight request (kafkajs
 * #598: out-of-order sequence numbers with more), checkpoint written only
 * after the records are acknowledged.
 */
export async function createAtLeastOnceSink(options: {
  kafka: LogClient;
  logger: Logger;
  hooks?: SinkHooks;
  operationTimeoutMs?: number;
  maxRequestBytes?: number;
}): Promise<ShardSink> {
  const { kafka, logger, hooks = {}, operationTimeoutMs = 30_000, maxRequestBytes = DEFAULT_MAX_REQUEST_BYTES } = options;
  const confluent = confluentSinkOf(kafka);
  if (confluent) return createConfluentAtLeastOnceSink({ ...confluent, logger, hooks, operationTimeoutMs });
  return atLeastOnceSinkOf({
    build: () =>
      kafkajsOf(kafka).producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 2_000 },
      }),
    send: (p: Producer, topicMessages) => p.sendBatch({ topicMessages, acks: -1 }),
    chunks: (messages) => chunkByBytes(messages, maxRequestBytes),
    errorType: kafkaErrorType,
    logger,
    hooks,
    operationTimeoutMs,
  });
}

/**
 * The at-least-once sink over either client's producer, written once: the
 * producer opened with a bounded connect (a failed one discarded) and held
 * (reset opens afresh); each commit sends the records, chunk by chunk, each
 * acknowledged by all in-sync replicas, and only then the checkpoint.
 */
export async function atLeastOnceSinkOf<P extends { connect(): Promise<unknown>; disconnect(): Promise<unknown> }>(o: {
  build: () => P;
  /** One acks=all send of the grouped messages. */
  send: (p: P, topicMessages: RelayTopicMessages[]) => Promise<unknown>;
  /** How the records are split into requests (default: one). */
  chunks?: (messages: OutgoingMessage[]) => OutgoingMessage[][];
  errorType: (err: unknown) => string;
  logger: Logger;
  hooks: SinkHooks;
  operationTimeoutMs: number;
}): Promise<ShardSink> {
  const { hooks, operationTimeoutMs } = o;
  const disconnect = (p: P) =>
    withTimeout(p.disconnect(), 10_000, 'disconnect').catch((err: unknown) => o.logger.warn({ err }, 'producer disconnect failed'));
  async function open(): Promise<P> {
    const p = o.build();
    try {
      await withTimeout(p.connect(), operationTimeoutMs, 'producer connect');
      return p;
    } catch (err) {
      await disconnect(p);
      throw new SinkFailedError(o.errorType(err), err);
    }
  }
  const held = await holdProducer(open, disconnect, hooks);
  return {
    transactionalId: undefined,
    async commit(messages, checkpoint) {
      const started = performance.now();
      try {
        for (const chunk of messages.length === 0 ? [] : (o.chunks?.(messages) ?? [messages])) {
          await withTimeout(o.send(held.get(), toTopicMessages(chunk, undefined)), operationTimeoutMs, 'send');
        }
        await withTimeout(o.send(held.get(), toTopicMessages([], checkpoint)), operationTimeoutMs, 'checkpoint');
        hooks.onCommitted?.(messages.length, performance.now() - started);
      } catch (err) {
        const type = o.errorType(err);
        hooks.onAborted?.(type);
        throw new SinkFailedError(type, err);
      }
    },
    reset: held.reset,
    close: held.close,
  };
}
