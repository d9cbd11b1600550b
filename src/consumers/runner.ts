import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { EventSerde } from '../events/serde.js';
import { errorCode, errorMessage, isRetriable } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { backoffDelay, sleep } from '../shared/retry.js';
import type { Pool, PoolClient } from '../views/db.js';
import { consumerMetrics } from './consumer-metrics.js';
import { createDeadLetterQueue, ensureDlqTopics, type DeadLetter } from './dead-letter.js';
import { emptyOutcome, type ConsumedEvent, type ConsumerHandler, type HandlerOutcome } from './handler.js';
import { attemptsOf, type RecoveryPolicy } from './recovery.js';

export interface ConsumerRunnerOptions<E> {
  kafka: Kafka;
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
  /** Interval of the handler's maintenance (unparking). */
  maintainIntervalMs?: number;
  replicationFactor?: number;
  /** Shared producer for the DLQ; one is created if absent. */
  producer?: Producer;
}

export interface ConsumerRunner {
  start(): Promise<void>;
  /** Finishes the batch in flight, commits, leaves the group. */
  stop(): Promise<void>;
  /** Stops fetching without leaving the group (backpressure, tests); `resume` undoes it. */
  pause(): void;
  resume(): void;
}

/**
 * The one consumer-group runner of the pipeline — exactly-once effect into
 * PostgreSQL (Akka's `exactlyOnce`):
 * - per partition batch, one PostgreSQL transaction holds the handler's rows
 *   and the consumed offsets (`consumer_offsets`, locked FOR UPDATE first);
 *   records below the stored offset are dropped, so a redelivered batch, or
 *   one from a partition that was revoked and reassigned meanwhile, cannot
 *   apply twice;
 * - on every assignment it seeks to the offsets stored in PostgreSQL;
 * - after the commit it also commits the offsets to Kafka, for standard lag
 *   tooling (Kafka's offset may trail PostgreSQL's after a crash: harmless);
 * - undecodable records and events the handler rejects go to
 *   `<topic>.dlq.<group>`; handler failures follow the recovery policy.
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
    maintainIntervalMs = 2000,
    replicationFactor = 1,
  } = options;
  if (topics.length === 0) throw new Error('a consumer runner needs at least one topic');
  const logger = baseLogger.child({ group: groupId });
  const m = consumerMetrics(options.metrics);
  let consumer: Consumer | undefined;
  let producer = options.producer;
  const ownsProducer = !producer;
  let maintainTimer: NodeJS.Timeout | undefined;
  let maintaining = false;
  let stopped = false;

  async function decode(topic: string, partition: number, msg: KafkaMessage) {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(msg.headers ?? {})) {
      if (v !== undefined) headers[k] = Array.isArray(v) ? String(v[0]) : String(v);
    }
    const base = { topic, partition, offset: Number(msg.offset), key: msg.key?.toString('utf8') ?? null, headers, raw: msg.value };
    if (!msg.value) return { ok: false as const, base, code: 'EMPTY_VALUE', message: 'record has no value (tombstone)' };
    try {
      const d = await serde.decode(msg.value);
      const written = headers.source_written_at ? Number(headers.source_written_at) : undefined;
      const ev: ConsumedEvent<E> = {
        ...base,
        event: d.event,
        eventType: d.eventType,
        writerVersion: d.writerVersion,
        sourceWrittenAt: Number.isFinite(written) ? written : undefined,
        timestamp: Number(msg.timestamp),
      };
      return { ok: true as const, ev };
    } catch (err) {
      if (isRetriable(err)) throw err; // registry unreachable: retry the batch, do not dead-letter
      return { ok: false as const, base, code: errorCode(err), message: errorMessage(err) };
    }
  }

  async function lockOffset(tx: PoolClient, topic: string, partition: number): Promise<number> {
    await tx.query(
      `insert into consumer_offsets(group_id, topic, partition, next_offset) values ($1, $2, $3, 0)
       on conflict do nothing`,
      [groupId, topic, partition],
    );
    const { rows } = await tx.query<{ next_offset: number }>(
      'select next_offset from consumer_offsets where group_id = $1 and topic = $2 and partition = $3 for update',
      [groupId, topic, partition],
    );
    return rows[0]!.next_offset;
  }

  async function applyOnce(
    events: ConsumedEvent<E>[],
    topic: string,
    partition: number,
    lastOffset: number,
    isolate: boolean,
    attempt: number,
  ): Promise<{ outcome: HandlerOutcome<E>; failed: DeadLetter[]; stale: boolean }> {
    const client = await pool.connect();
    const txTimer = m.txDuration.startTimer({ group: groupId });
    let broken = false;
    try {
      await client.query('BEGIN');
      const next = await lockOffset(client, topic, partition);
      if (next > lastOffset) {
        await client.query('ROLLBACK');
        return { outcome: emptyOutcome(), failed: [], stale: true };
      }
      const fresh = events.filter((e) => e.offset >= next);
      let outcome: HandlerOutcome<E>;
      const failed: DeadLetter[] = [];
      if (!isolate) {
        outcome = await handler.applyBatch(fresh, client);
      } else {
        // Find the events that fail on their own; everything else applies.
        outcome = emptyOutcome();
        for (const e of fresh) {
          await client.query('SAVEPOINT one_event');
          try {
            mergeOutcome(outcome, await handler.applyBatch([e], client));
            await client.query('RELEASE SAVEPOINT one_event');
          } catch (err) {
            await client.query('ROLLBACK TO SAVEPOINT one_event');
            failed.push(letterOf(e, errorCode(err), errorMessage(err), attempt + 1));
          }
        }
      }
      await client.query(
        'update consumer_offsets set next_offset = $4, updated_at = now() where group_id = $1 and topic = $2 and partition = $3',
        [groupId, topic, partition, lastOffset + 1],
      );
      if (handler.views.length > 0 && (outcome.newestSourceTime || outcome.newestEventTime)) {
        await client.query(
          `insert into view_freshness(view_name, group_id, last_source_time, last_event_time, last_commit_time)
           select v, $2, to_timestamp($3::double precision / 1000), to_timestamp($4::double precision / 1000), now()
           from unnest($1::text[]) v
           on conflict (view_name) do update set
             last_source_time = greatest(view_freshness.last_source_time, excluded.last_source_time),
             last_event_time = greatest(view_freshness.last_event_time, excluded.last_event_time),
             last_commit_time = now()`,
          [handler.views, groupId, outcome.newestSourceTime ?? null, outcome.newestEventTime ?? null],
        );
      }
      const letters = [
        ...failed,
        ...outcome.rejected.map((r) => letterOf(r.event, r.code, r.message, attempt + 1)),
      ];
      // DLQ before COMMIT: a crash in between re-sends on redo (at-least-once DLQ), never loses.
      if (letters.length > 0) await dlq().send(groupId, letters);
      await client.query('COMMIT');
      return { outcome, failed: letters, stale: false };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      txTimer();
      client.release(broken);
    }
  }

  const letterOf = (e: { topic: string; partition: number; offset: number; key: string | null; raw: Buffer | null; headers: Record<string, string> }, code: string, message: string, attempts: number): DeadLetter => ({
    topic: e.topic,
    partition: e.partition,
    offset: e.offset,
    key: e.key,
    value: e.raw,
    headers: e.headers,
    code,
    message,
    attempts,
  });

  let dlqInstance: ReturnType<typeof createDeadLetterQueue> | undefined;
  const dlq = () => (dlqInstance ??= createDeadLetterQueue(producer!));

  async function processChunk(topic: string, partition: number, messages: KafkaMessage[], payload: EachBatchPayload) {
    const timer = m.batchDuration.startTimer({ group: groupId });
    const lastOffset = Number(messages.at(-1)!.offset);
    const decoded: ConsumedEvent<E>[] = [];
    const poison: DeadLetter[] = [];
    for (const msg of messages) {
      const r = await decode(topic, partition, msg);
      if (r.ok) decoded.push(r.ev);
      else poison.push(letterOf(r.base, r.code, r.message, 1));
    }
    if (poison.length > 0) {
      await dlq().send(groupId, poison);
      m.events.inc({ group: groupId, outcome: 'dead_lettered' }, poison.length);
      logger.warn({ topic, partition, count: poison.length, code: poison[0]!.code }, 'undecodable records dead-lettered');
    }
    const attempts = attemptsOf(recovery);
    for (let attempt = 0; ; attempt++) {
      if (payload.isStale()) return; // partition revoked: the new owner redoes it from the stored offset
      const isolate = recovery.kind === 'retryAndDeadLetter' && attempt >= attempts;
      try {
        const r = await applyOnce(decoded, topic, partition, lastOffset, isolate, attempt);
        if (!r.stale) {
          m.events.inc({ group: groupId, outcome: 'applied' }, r.outcome.applied);
          m.events.inc({ group: groupId, outcome: 'duplicate' }, r.outcome.duplicates);
          m.events.inc({ group: groupId, outcome: 'gap_repaired' }, r.outcome.gapsRepaired);
          m.events.inc({ group: groupId, outcome: 'parked' }, r.outcome.parked);
          m.events.inc({ group: groupId, outcome: 'dead_lettered' }, r.failed.length);
          m.batchSize.observe({ group: groupId }, messages.length);
          const committedAt = Date.now();
          const sourceTimes = r.outcome.appliedSourceTimes ?? (r.outcome.newestSourceTime ? [r.outcome.newestSourceTime] : []);
          for (const v of handler.views) {
            const h = m.e2eLatency.labels({ view: v });
            for (const t of sourceTimes) h.observe(Math.max(0, (committedAt - t) / 1000));
          }
        }
        break;
      } catch (err) {
        m.errors.inc({ group: groupId, code: errorCode(err) });
        const retriable = isRetriable(err);
        logger.warn({ err: errorMessage(err), code: errorCode(err), attempt, topic, partition }, 'batch failed');
        if (retriable && !stopped) {
          // Infrastructure trouble (PostgreSQL restart, journal throttling): keep retrying, it is not the data's fault.
          await sleep(backoffDelay(Math.min(attempt, 6), 200, 10_000));
          await payload.heartbeat().catch(() => undefined);
          continue;
        }
        if (recovery.kind === 'fail' || (recovery.kind === 'retryAndFail' && attempt + 1 >= attempts)) throw err;
        if (recovery.kind === 'skip') {
          logger.error({ topic, partition, from: messages[0]!.offset, to: lastOffset }, 'skipping failed batch by policy');
          await applyOnce([], topic, partition, lastOffset, false, attempt);
          m.events.inc({ group: groupId, outcome: 'skipped' }, decoded.length);
          break;
        }
        if (recovery.kind === 'retryAndDeadLetter' && attempt >= attempts) throw err; // isolation itself failed
        await sleep(recovery.delayMs * (attempt + 1));
      }
    }
    payload.resolveOffset(String(lastOffset));
    await consumer!
      .commitOffsets([{ topic, partition, offset: String(lastOffset + 1) }])
      .catch((err: unknown) => logger.debug({ err: errorMessage(err) }, 'kafka offset commit failed (PostgreSQL holds the truth)'));
    await payload.heartbeat();
    timer();
  }

  /**
   * PostgreSQL is the truth for where a group stands. The first batch of a
   * partition after each assignment is checked against the stored offset (or
   * the log start when none is stored — a Kafka-committed offset without a
   * PostgreSQL row, after a wiped database or a re-run rebuild, must not make
   * the view skip events); if the consumer stands elsewhere it seeks there
   * and the batch is dropped. Done inside eachBatch, not on the join event,
   * so no batch can slip through before the seek.
   */
  const positioned = new Set<string>();
  async function positionedAt(topic: string, partition: number, firstOffset: number): Promise<boolean> {
    const key = `${topic}/${partition}`;
    if (positioned.has(key)) return true;
    const { rows } = await pool.query<{ next_offset: number }>(
      'select next_offset from consumer_offsets where group_id = $1 and topic = $2 and partition = $3',
      [groupId, topic, partition],
    );
    let target = rows[0]?.next_offset;
    if (target === undefined) {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const low = (await admin.fetchTopicOffsets(topic)).find((o) => o.partition === partition)?.low;
        target = Number(low ?? 0);
      } finally {
        await admin.disconnect();
      }
    }
    positioned.add(key);
    if (firstOffset === target) return true;
    logger.info({ topic, partition, from: firstOffset, to: target }, 'seeking to the offset stored in PostgreSQL');
    consumer!.seek({ topic, partition, offset: String(target) });
    return false;
  }

  return {
    async start() {
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
      consumer = kafka.consumer({
        groupId,
        readUncommitted: false,
        sessionTimeout: 30_000,
        heartbeatInterval: 3_000,
        maxBytesPerPartition: 2 * 1024 * 1024,
        retry: { retries: 10 },
      });
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        positioned.clear();
        logger.info({ assignment: e.payload.memberAssignment }, 'partitions assigned');
      });
      consumer.on(consumer.events.CRASH, (e) => logger.error({ err: errorMessage(e.payload.error) }, 'consumer crashed'));
      await consumer.connect();
      for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 2,
        eachBatch: async (payload) => {
          const { batch } = payload;
          const first = batch.messages[0];
          if (!first || !(await positionedAt(batch.topic, batch.partition, Number(first.offset)))) return;
          for (let i = 0; i < batch.messages.length && payload.isRunning() && !payload.isStale(); i += maxBatchSize) {
            await processChunk(batch.topic, batch.partition, batch.messages.slice(i, i + maxBatchSize), payload);
          }
        },
      });
      if (handler.maintain) {
        maintainTimer = setInterval(() => {
          if (maintaining || stopped) return;
          maintaining = true;
          handler
            .maintain!()
            .catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'maintenance failed'))
            .finally(() => {
              maintaining = false;
            });
        }, maintainIntervalMs);
      }
    },
    async stop() {
      stopped = true;
      if (maintainTimer) clearInterval(maintainTimer);
      // kafkajs' disconnect waits for the running eachBatch to finish.
      await consumer?.disconnect();
      if (ownsProducer) await producer?.disconnect();
      while (maintaining) await sleep(50);
    },
    pause() {
      consumer?.pause(topics.map((topic) => ({ topic })));
    },
    resume() {
      consumer?.resume(topics.map((topic) => ({ topic })));
    },
  };
}

function mergeOutcome<E>(into: HandlerOutcome<E>, o: HandlerOutcome<E>) {
  into.applied += o.applied;
  into.duplicates += o.duplicates;
  into.gapsRepaired += o.gapsRepaired;
  into.parked += o.parked;
  into.rejected.push(...o.rejected);
  into.newestSourceTime = Math.max(into.newestSourceTime ?? 0, o.newestSourceTime ?? 0) || undefined;
  into.newestEventTime = Math.max(into.newestEventTime ?? 0, o.newestEventTime ?? 0) || undefined;
  if (o.appliedSourceTimes) (into.appliedSourceTimes ??= []).push(...o.appliedSourceTimes);
}
