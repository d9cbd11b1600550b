import type { BatchPayload, GroupConsumer, LogClient, LogMessage, LogProducer } from '../log/port.js';
import type { Registry } from 'prom-client';
import type { EventSerde } from '../events/serde.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { backoffDelay, sleep } from '../shared/retry.js';
import type { Pool } from '../db/db.js';
import { applyBatch, applyBatches, type BatchItem, type BatchResult, type BatchSpan, type BatchTransaction } from './batch-transaction.js';
import { createBatchJoiner, JointRunError } from './batch-joiner.js';
import { consumerObserver, type ConsumerEvent, type ConsumerObserver, type ConsumerState } from './consumer-observer.js';
import { createDeadLetterQueue, ensureDlqTopics, type DeadLetterQueue } from './dead-letter.js';
import type { ConsumedEvent, ConsumerHandler } from './handler.js';
import { createKafkaOffsetSync } from './kafka-offset-sync.js';
import { createPartitionPositioner, type BlockedPartition } from './partition-positioner.js';
import { PartitionBlockedError, witnessOf } from './offset-witness.js';
import { decodeRecord, deadLetterOf } from './record-decoder.js';
import { decideRecovery, failureKindOf, type FailureCounts, type RecoveryPolicy } from './recovery.js';

/**
 * Partition batches kafkajs hands the runner at once (its
 * partitionsConsumedConcurrently): more than a process holds partitions, in
 * practice, so that a fetch arrives whole. A kafkajs worker is a loop, not a
 * thread or a connection.
 */
const BATCHES_HANDED_OVER = 64;

export interface ConsumerRunnerOptions<E> {
  kafka: LogClient;
  pool: Pool;
  groupId: string;
  topics: string[];
  serde: EventSerde<E>;
  handler: ConsumerHandler<E>;
  logger: Logger;
  metrics: Registry;
  recovery?: RecoveryPolicy;
  /** Records per PostgreSQL transaction. */
  maxBatchSize?: number;
  /** PostgreSQL transactions at once (CONSUMER_CONCURRENCY); the partition batches handed over together join one. */
  concurrency?: number;
  /** Kafka group session timeout (CONSUMER_SESSION_TIMEOUT_MS); see {@link groupTimings}. */
  sessionTimeoutMs?: number;
  /** Interval of the handler's maintenance (unparking). */
  maintainIntervalMs?: number;
  /** Replicas of the DLQ topics it creates (TOPIC_REPLICATION_FACTOR); absent: the broker's default.replication.factor. */
  replicationFactor?: number;
  /** Shared producer for the DLQ; one is created if absent. */
  producer?: LogProducer;
  /** Extra lifecycle observer (tests, status); metrics and logs are always observed. */
  observer?: ConsumerObserver;
}

/**
 * Session timeout and heartbeat interval of the group's consumer. The
 * session timeout is how long a member that died without leaving keeps its
 * partitions (after kill -9 the group's failover waits this long); heartbeats
 * go every third of it (so two can be lost), at most every 3 s as kafkajs'
 * default. Brokers refuse a session timeout outside their
 * group.min/max.session.timeout.ms (6 s – 5 min by default).
 */
export function groupTimings(sessionTimeoutMs: number): { sessionTimeout: number; heartbeatInterval: number } {
  if (!Number.isInteger(sessionTimeoutMs) || sessionTimeoutMs < 6_000 || sessionTimeoutMs > 300_000) {
    throw new Error(`sessionTimeoutMs must be an integer from 6000 to 300000 (the brokers' default group.min/max.session.timeout.ms), got ${sessionTimeoutMs}`);
  }
  return { sessionTimeout: sessionTimeoutMs, heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeoutMs / 3)) };
}

export interface ConsumerHealth {
  state: ConsumerState;
  /** The last error while not running (what `/readyz` names). */
  reason?: string | undefined;
}

/** The health a role reports: its state and the partitions it holds stopped (never read, see partition-positioner.ts). */
export interface ConsumerReport extends ConsumerHealth {
  blocked: BlockedPartition[];
}

export interface ConsumerRunner {
  start(): Promise<void>;
  /** Finishes (or abandons, uncommitted) the batch in flight and leaves the group. */
  stop(): Promise<void>;
  /** Stops fetching without leaving the group (backpressure, tests); `resume` undoes it. */
  pause(): void;
  resume(): void;
  health(): ConsumerReport;
}

/**
 * The one consumer-group runner of the pipeline — exactly-once effect into
 * PostgreSQL (Akka's `exactlyOnce`):
 * - each partition batch commits in one PostgreSQL transaction with the
 *   handler's rows and the consumed offsets (see batch-transaction.ts); the
 *   small batches of one fetch share one (batch-joiner.ts); PostgreSQL, not
 *   Kafka, says where the group stands;
 * - on every assignment each partition is paused, sought to the stored offset
 *   and resumed (partition-positioner.ts), idle partitions included;
 * - after the commit the offsets are also committed to Kafka, for standard lag
 *   tooling, and brought up to PostgreSQL's after every assignment and
 *   periodically for idle partitions (kafka-offset-sync.ts);
 * - undecodable records and events the handler rejects go to
 *   `<topic>.dlq.<group>`; handler failures follow the recovery policy, and
 *   infrastructure failures are retried until they heal (recovery.ts).
 *
 * Liveness: the Kafka consumer is restarted by this runner (never by
 * kafkajs, whose own restart can race a stop and leave a consumer running
 * after `disconnect`) with backoff, for as long as the runner is not stopped.
 * Nothing here exits the process; `stop()` returns once nothing of the
 * runner is running.
 */
export function createConsumerRunner<E>(options: ConsumerRunnerOptions<E>): ConsumerRunner {
  const {
    kafka,
    pool,
    groupId,
    topics,
    serde,
    handler,
    logger: baseLogger,
    recovery = { kind: 'retryAndDeadLetter', attempts: 3, delayMs: 200 },
    maxBatchSize = 2000,
    concurrency = 3,
    sessionTimeoutMs = 30_000,
    maintainIntervalMs = 2000,
    replicationFactor,
  } = options;
  if (topics.length === 0) throw new Error('a consumer runner needs at least one topic');
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) throw new Error(`maxBatchSize must be a positive integer, got ${maxBatchSize}`);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be a positive integer, got ${concurrency}`);
  const timings = groupTimings(sessionTimeoutMs);
  const logger = baseLogger.child({ group: groupId });
  const base = consumerObserver({ registry: options.metrics, groupId, views: handler.views, logger });
  const health: ConsumerHealth = { state: 'starting' };
  const observe: ConsumerObserver = (e: ConsumerEvent) => {
    if (e.type === 'state') {
      health.state = e.state;
      health.reason = e.reason;
    }
    base(e);
    options.observer?.(e);
  };
  const setState = (state: ConsumerState, reason?: string) => {
    // Failed is sticky: a concurrent partition's retry must not make a failed group look alive again.
    if (health.state === 'failed' && state !== 'stopping' && state !== 'stopped') return;
    if (health.state !== state) observe({ type: 'state', state, reason });
  };

  let consumer: GroupConsumer | undefined;
  let producer = options.producer;
  const ownsProducer = !producer;
  let dlqInstance: DeadLetterQueue | undefined;
  const tx: BatchTransaction<E> = { groupId, pool, handler, dlq: () => (dlqInstance ??= createDeadLetterQueue(producer!)) };
  const stopping = new AbortController();
  let userPaused = false;
  let restartTimer: NodeJS.Timeout | undefined;
  let restarting: Promise<void> | undefined;
  let restarts = 0;
  let maintainTimer: NodeJS.Timeout | undefined;
  let maintaining: Promise<void> | undefined;
  const positioner = createPartitionPositioner({ kafka, pool, groupId, observe, paused: () => userPaused });
  const kafkaOffsets = createKafkaOffsetSync({ kafka, pool, groupId, logger });
  // The partition batches of a fetch arrive together: small ones join one transaction (see batch-joiner.ts).
  const joiner = createBatchJoiner<BatchItem<E>, BatchResult<E>>({
    slots: concurrency,
    maxWeight: maxBatchSize,
    weight: (item) => item.span.lastOffset - item.span.firstOffset + 1,
    run: async (items) => {
      try {
        return await applyBatches(tx, items);
      } catch (err) {
        if (items.length > 1) observe({ type: 'joint-failed', batches: items.length, error: err, kind: failureKindOf(err) });
        throw err;
      }
    },
  });
  const live = (payload: BatchPayload) => !stopping.signal.aborted && health.state !== 'failed' && payload.isRunning() && !payload.isStale();

  /** Decodes a chunk; undecodable records go to the DLQ (a registry that does not answer throws: retried). */
  async function decodeChunk(topic: string, partition: number, messages: LogMessage[]): Promise<ConsumedEvent<E>[]> {
    const events: ConsumedEvent<E>[] = [];
    const poison = [];
    for (const msg of messages) {
      // A removal a connector relays by policy (a DynamoDB REMOVE) is not an event: nothing to apply or dead-letter.
      if (msg.headers?.cdc_operation?.toString() === 'REMOVE') continue;
      const r = await decodeRecord(serde, topic, partition, msg);
      if (r.ok) events.push(r.event);
      else poison.push(deadLetterOf(r.record, r.code, r.message, 1));
    }
    if (poison.length > 0) {
      await tx.dlq().send(groupId, poison);
      observe({ type: 'undecodable', topic, partition, count: poison.length, code: poison[0]!.code });
    }
    return events;
  }

  /** Decodes and applies one chunk of a partition batch until it commits, or the policy gives up. Returns false to stop the batch. */
  async function processChunk(topic: string, partition: number, messages: LogMessage[], payload: BatchPayload, fetchedAt: number, consumedAt: number): Promise<boolean> {
    const lastOffset = Number(messages.at(-1)!.offset);
    const span: BatchSpan = {
      topic, partition, firstOffset: Number(messages[0]!.offset), lastOffset, topicId: null,
      witnessAt: (offset: number) => {
        const m = messages.find((x) => Number(x.offset) === offset);
        return m ? witnessOf(m) : null;
      },
    };
    const counts: FailureCounts = { infrastructure: 0, data: 0 };
    let isolate = false;
    let skip = false;
    // A first attempt joins the other partitions' batches; after a joint failure (whose cause may be
    // another batch's) and on every retry it runs alone, where a failure is its own.
    let alone = false;
    // Decoded once: a retried chunk must neither decode again nor send its undecodable records to the DLQ twice.
    let decoded: ConsumedEvent<E>[] | undefined;
    for (;;) {
      if (!live(payload)) return false; // revoked or stopping: the next owner redoes it from the stored offset
      const started = performance.now();
      try {
        span.topicId = await positioner.topicIdFor(topic, partition, fetchedAt);
        decoded ??= await decodeChunk(topic, partition, messages);
        // Skipping by policy still commits the offsets, in the same kind of transaction.
        const mode = { isolate, attempt: counts.data };
        const events = skip ? [] : decoded;
        const r = alone || isolate || skip ? await applyBatch(tx, span, events, mode) : await joiner.submit({ span, events, mode });
        if (skip) {
          if (!r.stale) observe({ type: 'skipped', topic, partition, count: messages.length, fromOffset: Number(messages[0]!.offset), toOffset: lastOffset });
        } else if (!r.stale) {
          const committedAt = Date.now();
          observe({
            type: 'applied', topic, partition, records: messages.length, outcome: r.outcome, committedAt,
            deadLettered: r.deadLettered.length, durationMs: performance.now() - started, transactionMs: r.transactionMs, canaryTimes: r.canaryTimes,
            consumedAt, producedAts: messages.map((m) => Number(m.timestamp)),
          });
        }
        break;
      } catch (err) {
        if (err instanceof JointRunError) {
          alone = true; // observed once for the joint run (joint-failed)
          continue;
        }
        if (err instanceof PartitionBlockedError) {
          // Not a failure of the batch: the offset does not belong to this topic. Nothing more of the partition is applied.
          await positioner.block(consumer!, { topic, partition, kind: err.kind, reason: err.reason });
          return false;
        }
        const kind = failureKindOf(err);
        counts[kind]++;
        const decision = decideRecovery(recovery, kind, counts, isolate);
        const delayMs = decision.action === 'retry' ? decision.delayMs : 0;
        observe({ type: 'batch-failed', topic, partition, error: err, kind, attempt: counts[kind], delayMs });
        switch (decision.action) {
          case 'retry':
            alone = true;
            setState('retrying', errorMessage(err));
            await sleep(delayMs, stopping.signal);
            await payload.heartbeat().catch(() => undefined);
            continue;
          case 'isolate':
            isolate = true;
            continue;
          case 'skip':
            skip = true;
            continue;
          case 'fail':
            fail(err, topic, partition);
            return false;
        }
      }
    }
    if (health.state === 'retrying') setState('running');
    payload.resolveOffset(String(lastOffset));
    await kafkaOffsets.commit(consumer!, topic, partition, lastOffset + 1);
    await payload.heartbeat();
    return true;
  }

  /** The recovery policy gave up: stop this group's consumer here, loudly, and stay failed until restarted. */
  function fail(err: unknown, topic?: string, partition?: number) {
    observe({ type: 'failed', error: err, topic, partition });
    setState('failed', errorMessage(err));
    const c = consumer;
    // Not awaited: disconnect waits for the eachBatch that called this.
    setImmediate(() => void c?.disconnect().catch(() => undefined));
  }

  async function launch() {
    const c = kafka.consumer({
      groupId,
      readUncommitted: false,
      ...timings,
      maxBytesPerPartition: 2 * 1024 * 1024,
      // kafkajs must not restart a crashed consumer itself: this runner does (see scheduleRestart).
      // Its fetch loop retries with backoff capped at 5 s (kafkajs: 30 s), so a lost broker or
      // coordinator is noticed again within seconds of coming back, not after half a minute.
      retry: { retries: 10, maxRetryTime: 5_000, restartOnFailure: async () => false },
    });
    consumer = c;
    c.on(c.events.GROUP_JOIN, (e) => positioner.onAssignment(c, e.payload.memberAssignment));
    c.on(c.events.GROUP_JOIN, (e) => kafkaOffsets.onAssignment(c, e.payload.memberAssignment));
    c.on(c.events.CRASH, (e) => {
      if (consumer === c && !stopping.signal.aborted && health.state !== 'failed') scheduleRestart(e.payload.error);
    });
    await c.connect();
    for (const topic of topics) await c.subscribe({ topic, fromBeginning: true });
    await c.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Every partition batch of a fetch is handed over at once, so that they can join one transaction;
      // `concurrency` bounds the transactions (the joiner's slots), not the batches.
      partitionsConsumedConcurrently: BATCHES_HANDED_OVER,
      eachBatch: async (payload) => {
        const fetchedAt = performance.now();
        const consumedAt = Date.now();
        const { batch } = payload;
        const first = batch.messages[0];
        if (!first || !positioner.accept(batch.topic, batch.partition)) return;
        for (let i = 0; i < batch.messages.length && live(payload); i += maxBatchSize) {
          if (!(await processChunk(batch.topic, batch.partition, batch.messages.slice(i, i + maxBatchSize), payload, fetchedAt, consumedAt))) return;
        }
      },
    });
    restarts = 0;
    setState('running');
  }

  function scheduleRestart(err: unknown) {
    const restartInMs = backoffDelay(Math.min(restarts++, 6), 500, 30_000) + 250;
    observe({ type: 'crashed', error: err, restartInMs });
    setState('restarting', errorMessage(err));
    clearTimeout(restartTimer);
    restartTimer = setTimeout(() => {
      restarting = (async () => {
        const old = consumer;
        await old?.disconnect().catch(() => undefined);
        if (stopping.signal.aborted) return;
        try {
          await launch();
        } catch (e) {
          if (!stopping.signal.aborted) scheduleRestart(e);
        }
      })().finally(() => {
        restarting = undefined;
      });
    }, restartInMs);
  }

  function maintain() {
    if (maintaining || stopping.signal.aborted || !handler.maintain) return;
    maintaining = handler
      .maintain()
      .catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'maintenance failed; retried next interval'))
      .finally(() => {
        maintaining = undefined;
      });
  }

  return {
    async start() {
      setState('starting');
      const admin = kafka.admin();
      await admin.connect();
      try {
        await ensureDlqTopics(admin, topics, groupId, replicationFactor);
      } finally {
        await admin.disconnect();
      }
      if (!producer) {
        producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
        await producer.connect();
      }
      await launch();
      if (handler.maintain) maintainTimer = setInterval(maintain, maintainIntervalMs);
    },
    async stop() {
      setState('stopping');
      stopping.abort();
      await positioner.close();
      await kafkaOffsets.close();
      clearInterval(maintainTimer);
      clearTimeout(restartTimer);
      await restarting;
      // kafkajs' disconnect waits for the running eachBatch, which returns promptly once `stopping` is aborted.
      await consumer?.disconnect().catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'consumer disconnect failed'));
      if (ownsProducer) await producer?.disconnect().catch(() => undefined);
      await maintaining;
      setState('stopped');
    },
    pause() {
      userPaused = true;
      consumer?.pause(topics.map((topic) => ({ topic })));
    },
    resume() {
      userPaused = false;
      consumer?.resume(topics.map((topic) => ({ topic })));
      // Partitions that must not be read (their stored offset does not fit the topic) stay paused.
      const blocked = positioner.blocked();
      if (blocked.length > 0) consumer?.pause(blocked.map((b) => ({ topic: b.topic, partitions: [b.partition] })));
    },
    health: () => ({ ...health, blocked: positioner.blocked() }),
  };
}
