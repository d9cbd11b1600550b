import { hostname } from 'node:os';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { Admin, Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { defaultSchemasDir, loadCatalog, type EventCatalog } from '../events/catalog.js';
import type { EventSerde } from '../events/serde.js';
import { BACKFILL_KEY, createCheckpointReader } from '../log/checkpoints.js';
import { createAtLeastOnceSink, createTransactionalSink, type ShardSink } from '../log/relay-producer.js';
import { ensureTopicSpecs } from '../log/topics.js';
import { errorMessage, PipelineError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { retry, sleep } from '../shared/retry.js';
import { needsInitialSnapshot, runBackfill } from './backfill.js';
import { createBridgeMetrics } from './bridge-metrics.js';
import type { ConnectorConfig } from './connector.js';
import { createLeaseManager, type LeaseManager } from './leases.js';
import { createRecordMapper } from './mapping.js';
import { planShards, type ShardInfo } from './shard-lineage.js';
import { runShard, type ShardStatus } from './shard-worker.js';
import { createStreamReader, TrimmedDataError } from './stream-reader.js';

export { loadConnector, parseConnector, type ConnectorConfig } from './connector.js';

export interface BridgeStatus {
  state: 'idle' | 'starting' | 'backfilling' | 'running' | 'stopping' | 'stopped';
  table: string;
  topic: string;
  delivery: ConnectorConfig['delivery'];
  workerId: string;
  streamArn: string | undefined;
  shards: ShardStatus[];
  leasesHeld: string[];
  backfill: { runs: number; items: number; lastCompletedAt: number | undefined };
  lastError: string | undefined;
}

export interface BridgeOptions {
  connector: ConnectorConfig;
  kafka: Kafka;
  ddb: DynamoDBClient;
  streams: DynamoDBStreamsClient;
  serde: EventSerde;
  logger: Logger;
  metrics: Registry;
  /** Stable per process: a restarted worker with the same id gets its leases back at once. */
  workerId?: string;
  /** Defaults to schemas/<connector.aggregate>. */
  catalog?: EventCatalog;
  /** Prefix of the per-shard transactional ids (`<prefix>.<table>.<shardId>`). */
  transactionalIdPrefix?: string;
  transactionTimeoutMs?: number;
}

export interface Bridge {
  /** Resolves once the stream is found and the relay loop runs; relaying continues in the background. */
  start(): Promise<void>;
  /** Lets in-flight batches commit (or abort), stops every shard and releases leases. */
  stop(): Promise<void>;
  status(): BridgeStatus;
}

/** Creates the connector's topic, its DLQ and the checkpoint topic if missing. */
export async function ensureTopics(admin: Admin, connector: ConnectorConfig, options: { replicationFactor?: number } = {}): Promise<string[]> {
  return ensureTopicSpecs(
    admin,
    [
      { topic: connector.topic, partitions: connector.partitions },
      { topic: connector.dlqTopic, partitions: 1 },
      { topic: connector.checkpointTopic, partitions: 1, compacted: true },
    ],
    options.replicationFactor ?? 1,
  );
}


/**
 * The CDC bridge for one connector: DynamoDB stream → Kafka topic, keyed by
 * persistence id, Avro in Confluent wire format. See shard-worker.ts for the
 * per-batch guarantee, shard-lineage.ts for ordering across shard splits and
 * leases.ts for sharing a table's shards between processes.
 */
export function createBridge(options: BridgeOptions): Bridge {
  const { connector, kafka, ddb, streams, serde, logger: rootLogger } = options;
  const workerId = options.workerId ?? `${hostname()}-${process.pid}`;
  const prefix = options.transactionalIdPrefix ?? 'cdc-bridge';
  const logger = rootLogger.child({ component: 'cdc-bridge', table: connector.table, workerId });
  const metrics = createBridgeMetrics(options.metrics);
  const catalog = options.catalog ?? loadCatalog(defaultSchemasDir(connector.aggregate));
  const mapper = createRecordMapper({ connector, serde, catalog });
  const table = connector.table;
  const reader = createStreamReader({
    streams,
    hooks: { onThrottle: (operation) => metrics.throttles.inc({ table, operation }) },
  });
  const checkpoints = createCheckpointReader({ kafka, topic: connector.checkpointTopic, logger });
  const leases: LeaseManager | undefined = connector.leases.enabled
    ? createLeaseManager({ ddb, table: connector.leases.table, workerId, durationMs: connector.leases.durationMs, logger })
    : undefined;

  const controller = new AbortController();
  const workers = new Map<string, { status: ShardStatus; done: Promise<void> }>();
  const finished = new Set<string>();
  const trimmedShards = new Set<string>();
  const status: BridgeStatus = {
    state: 'idle',
    table,
    topic: connector.topic,
    delivery: connector.delivery,
    workerId,
    streamArn: undefined,
    shards: [],
    leasesHeld: [],
    backfill: { runs: 0, items: 0, lastCompletedAt: undefined },
    lastError: undefined,
  };
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let backfilling: Promise<void> | undefined;

  const sinkHooks = {
    onAborted: (reason: string) => metrics.transactionsAborted.inc({ table, reason }),
  };
  function openSink(name: string): Promise<ShardSink> {
    if (connector.delivery === 'at-least-once') return createAtLeastOnceSink({ kafka, logger, hooks: sinkHooks });
    return createTransactionalSink({
      kafka,
      transactionalId: `${prefix}.${table}.${name}`,
      logger,
      hooks: sinkHooks,
      ...(options.transactionTimeoutMs ? { transactionTimeoutMs: options.transactionTimeoutMs } : {}),
    });
  }

  async function backfill(reason: string): Promise<void> {
    // One snapshot at a time; callers that hit trimmed data meanwhile wait for it.
    if (backfilling) return backfilling;
    backfilling = (async () => {
      const previous = status.state;
      status.state = 'backfilling';
      logger.info({ reason, segments: connector.backfill.segments }, 'backfilling the table into the topic');
      const sinks = await Promise.all(Array.from({ length: connector.backfill.segments }, (_, i) => openSink(`${BACKFILL_KEY}-${i}`)));
      try {
        const r = await runBackfill({
          ddb,
          connector,
          mapper,
          sinks,
          logger,
          signal: controller.signal,
          onItems: (n) => metrics.backfillItems.inc({ table }, n),
        });
        status.backfill.runs++;
        status.backfill.items += r.items;
        status.backfill.lastCompletedAt = Date.now();
      } finally {
        await Promise.all(sinks.map((s) => s.close()));
        if (status.state === 'backfilling') status.state = previous;
      }
    })().finally(() => (backfilling = undefined));
    return backfilling;
  }

  function startShard(shardId: string) {
    const s: ShardStatus = { shardId, state: 'starting', lastSequenceNumber: null, relayed: 0, deadLettered: 0, filtered: 0, lastCommitAt: undefined };
    const fromTrimHorizon = trimmedShards.delete(shardId);
    const done = runShard({
      connector,
      streamArn: status.streamArn!,
      shardId,
      reader,
      mapper,
      openSink: () => openSink(shardId),
      checkpoints,
      leaseValid: () => !leases || leases.holds(shardId),
      leaseEpoch: () => leases?.epoch(shardId) ?? 0,
      fromTrimHorizon,
      metrics,
      logger,
      signal: controller.signal,
      status: s,
    })
      .then(async (outcome) => {
        if (outcome === 'ended') {
          finished.add(shardId);
          await leases?.finish(shardId);
        }
      })
      .catch(async (err: unknown) => {
        if (err instanceof TrimmedDataError) {
          logger.warn({ shardId }, 'checkpoint is older than the stream retention: backfilling, then reading from TRIM_HORIZON');
          try {
            await backfill('trimmed');
            // Only a completed snapshot allows skipping to TRIM_HORIZON; otherwise the
            // shard restarts from its checkpoint, is refused again and retries the backfill.
            trimmedShards.add(shardId);
          } catch (e) {
            status.lastError = errorMessage(e);
            logger.error({ err: e }, 'backfill failed; retried on the next round');
            await sleep(5_000, controller.signal);
          }
          return;
        }
        status.lastError = errorMessage(err);
        logger.error({ err, shardId }, 'shard relay failed; it is restarted on the next round');
        await sleep(1_000, controller.signal);
      })
      .finally(() => {
        workers.delete(shardId);
        wake?.();
      });
    workers.set(shardId, { status: s, done });
  }

  async function round(shards: ShardInfo[]): Promise<void> {
    const ended = leases?.endedShards() ?? new Set<string>();
    const plan = planShards(shards, (id) => (finished.has(id) || ended.has(id) ? { shardEnded: true } : undefined));
    const owned = leases ? await leases.sync(plan.readable) : new Set(plan.readable);
    // During a backfill, rounds keep renewing leases but start no shard: the
    // shards that hit trimmed data must resume only after the snapshot.
    if (!backfilling) for (const id of plan.readable) if (owned.has(id) && !workers.has(id) && !controller.signal.aborted) startShard(id);
    status.leasesHeld = leases?.held() ?? [...owned];
    metrics.leasesHeld.set({ table, worker: workerId }, status.leasesHeld.length);
    metrics.shardsActive.set({ table }, workers.size);
  }

  async function run(): Promise<void> {
    let shards: ShardInfo[] = [];
    let discoveredAt = 0;
    const tick = Math.min(connector.shards.rediscoveryIntervalMs, connector.leases.enabled ? connector.leases.renewIntervalMs : Infinity);
    while (!controller.signal.aborted) {
      try {
        if (Date.now() - discoveredAt >= connector.shards.rediscoveryIntervalMs || shards.length === 0 || workers.size === 0) {
          shards = await reader.describeShards(status.streamArn!, controller.signal);
          discoveredAt = Date.now();
        }
        await round(shards);
      } catch (err) {
        status.lastError = errorMessage(err);
        logger.error({ err }, 'bridge round failed; retrying');
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        void sleep(tick, controller.signal).then(resolve);
      });
    }
  }

  return {
    async start() {
      if (status.state !== 'idle') throw new PipelineError('BRIDGE_STATE', `bridge is ${status.state}`);
      status.state = 'starting';
      const d = await ddb.send(new DescribeTableCommand({ TableName: table }));
      const arn = d.Table?.LatestStreamArn;
      const view = d.Table?.StreamSpecification?.StreamViewType;
      if (!arn || !d.Table?.StreamSpecification?.StreamEnabled || (view !== 'NEW_IMAGE' && view !== 'NEW_AND_OLD_IMAGES')) {
        throw new PipelineError('NO_STREAM', `table ${table} has no NEW_IMAGE stream (view type: ${view ?? 'none'})`);
      }
      status.streamArn = arn;
      await leases?.ensureTable();
      // A snapshot interrupted by a crash left segment checkpoints but no completion mark: it is redone.
      const hasCheckpoints = async () => {
        const known = await checkpoints.read(table);
        return [...known].some(([key, c]) => key !== BACKFILL_KEY || c.backfillCompletedAt !== undefined);
      };
      if (await needsInitialSnapshot({ ddb, connector, hasCheckpoints })) {
        await retry(() => backfill('first start on a table with history'), {
          attempts: 3,
          onRetry: (err) => logger.warn({ err }, 'initial backfill failed; starting it again'),
        });
      }
      status.state = 'running';
      loop = run();
      logger.info({ streamArn: arn, delivery: connector.delivery }, 'bridge started');
    },
    async stop() {
      if (status.state === 'stopped' || status.state === 'idle') return;
      status.state = 'stopping';
      controller.abort();
      wake?.();
      await loop;
      await Promise.allSettled([...workers.values()].map((w) => w.done));
      await backfilling?.catch(() => undefined);
      await leases?.releaseAll();
      metrics.leasesHeld.set({ table, worker: workerId }, 0);
      status.state = 'stopped';
      logger.info('bridge stopped');
    },
    status: () => ({ ...status, shards: [...workers.values()].map((w) => ({ ...w.status })), leasesHeld: leases?.held() ?? status.leasesHeld }),
  };
}
