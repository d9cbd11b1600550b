import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { LogClient } from '../log/port.js';
import type { Registry } from 'prom-client';
import { loadTopicCatalog, type EventCatalog } from '../events/catalog.js';
import type { SchemaStore } from '../events/schema-store.js';
import { syncSchemas, type SyncReport } from '../events/schema-sync.js';
import type { EventSerde } from '../events/serde.js';
import { createCheckpointReader, SPECIAL_KEY_PREFIX } from '../log/checkpoints.js';
import { readKeyHighWaterMarks } from '../log/key-high-water.js';
import { createAtLeastOnceSink, createTransactionalSink, type ShardSink } from '../log/relay-producer.js';
import { errorCode, errorMessage, isRetriable, PipelineError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { retry, sleep } from '../shared/retry.js';
import { hasRelayed, needsInitialSnapshot } from './backfill.js';
import { createBridgeMetrics } from './bridge-metrics.js';
import { bridgeReadiness, shardStateCounts, type BridgeStatus } from './bridge-status.js';
import type { ConnectorConfig } from './connector.js';
import { createLeaseManager, type LeaseManager } from './leases.js';
import { createRecordMapper } from './mapping.js';
import { planShards, type ShardInfo } from './shard-lineage.js';
import { createShardObserver, type ShardObserver } from './shard-observer.js';
import { classifyFailure, type ShardOutcome, type ShardStatus } from './shard-state.js';
import { runShard } from './shard-worker.js';
import { createTableReads } from './table-reads.js';
import { createStreamReader } from './stream-reader.js';

export { ensureTopics, loadConnector, parseConnector, type ConnectorConfig } from './connector.js';

/**
 * A bridge that cannot start until a person acts: retrying cannot help, so
 * the bridge group stops the connector with one ERROR (this message, which
 * names the command that fixes it) instead of retrying and warning forever.
 */
export class BridgeRefusedError extends PipelineError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('BRIDGE_REFUSED', message, { retriable: false, cause: options.cause });
  }
}
export { bridgeReadiness, type BridgeStatus } from './bridge-status.js';

export interface BridgeOptions {
  connector: ConnectorConfig;
  kafka: LogClient;
  ddb: DynamoDBClient;
  streams: DynamoDBStreamsClient;
  serde: EventSerde;
  /**
   * The registry the serde encodes against: start() registers the topic's
   * subjects there when they are missing (the schema sync `setup` runs).
   */
  schemaStore: SchemaStore;
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
  /** Not ready while starting or stopping, while rounds fail, or while a shard is failed or retrying a fault. */
  readiness(): { ready: boolean; reasons: string[] };
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
  const catalog = options.catalog ?? loadTopicCatalog(connector.aggregate);
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
  // Every shard worker's pauses listen on this signal: dozens of shards are normal, not a leak.
  setMaxListeners(0, controller.signal);
  // `running` settles when the worker returned (before its outcome is acted on); `pause` stops it for a gap repair.
  const workers = new Map<string, { observer: ShardObserver; done: Promise<void>; running: Promise<unknown>; pause: () => void }>();
  const finished = new Set<string>();
  // Stopped on a programming error: kept (with its lease, so no other worker repeats the
  // error) and not restarted until the process is.
  const failed = new Map<string, ShardStatus>();
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
    repair: { runs: 0, itemsRead: 0, relayed: 0, lastCompletedAt: undefined, last: undefined },
    roundFaults: 0,
    lastError: undefined,
  };
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;

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

  const tableReads = createTableReads({
    ddb,
    connector,
    mapper,
    reader,
    checkpoints,
    openSink,
    readMarks: (sinceMs) => readKeyHighWaterMarks({ kafka, topic: connector.topic, sinceMs, logger }),
    logger,
    metrics,
    status,
    signal: controller.signal,
    pauseShards: async () => {
      for (const w of workers.values()) w.pause();
      await Promise.allSettled([...workers.values()].map((w) => w.running));
    },
  });
  const { backfill, repair } = tableReads;

  /** Logs a failed round or backfill (the first times, then every tenth): an error for a programming error, else a warning. */
  function fault(err: unknown, faults: number, message: string) {
    status.lastError = errorMessage(err);
    if (faults > 3 && faults % 10 !== 0) return;
    if (classifyFailure(err) === 'programming') logger.error({ err, code: errorCode(err), faults }, `${message} (programming error)`);
    else logger.warn({ err, code: errorCode(err), faults }, `${message}; retrying`);
  }

  function startShard(shardId: string, info: ShardInfo | undefined) {
    const observer = createShardObserver({ shardId, table, metrics, logger });
    const paused = new AbortController();
    const running = runShard({
      connector,
      shard: { streamArn: status.streamArn!, shardId, parentShardId: info?.parentShardId, startingSequenceNumber: info?.startingSequenceNumber },
      ports: { reader, checkpoints, mapper, openSink: () => openSink(shardId) },
      lease: { valid: () => !leases || leases.holds(shardId), epoch: () => leases?.epoch(shardId) ?? 0 },
      signal: AbortSignal.any([controller.signal, paused.signal]),
      observe: observer.observe,
    });
    const done = supervise(shardId, observer, running).finally(() => {
      workers.delete(shardId);
      wake?.();
    });
    workers.set(shardId, { observer, done, running: running.catch(() => undefined), pause: () => paused.abort() });
  }

  /** Acts on one shard worker's outcome; never rejects. */
  async function supervise(shardId: string, observer: ShardObserver, running: Promise<ShardOutcome>): Promise<void> {
    let outcome: ShardOutcome;
    try {
      outcome = await running;
    } catch (err) {
      // runShard returns every outcome: a rejection is a bug in the worker or its observer.
      logger.error({ err, shardId }, 'shard worker crashed; the shard is not restarted until the process is');
      failed.set(shardId, { ...observer.status(), state: 'failed', lastError: errorMessage(err) });
      return;
    }
    if (outcome.type === 'finished') {
      finished.add(shardId);
      // Retried by the next rounds if DynamoDB refuses it now.
      await leases?.finish(shardId).catch((err: unknown) => logger.warn({ err, shardId }, 'marking the lease finished failed; retried next round'));
    } else if (outcome.type === 'failed') {
      failed.set(shardId, observer.status());
      status.lastError = errorMessage(outcome.error);
    } else if (outcome.type === 'trimmed') {
      logger.warn({ shardId }, 'checkpoint is older than the stream retention: repairing the missed window from the table');
      try {
        // The repair checkpoints the shard where the stream resumes; until it completes,
        // the shard restarts from its old checkpoint, is refused again and retries it.
        await repair(`shard ${shardId} trimmed`);
      } catch (err) {
        fault(err, 1, 'gap repair failed; retried on the next round unless this is a programming error');
        // A programming error would fail every repair again: the shard stops instead.
        if (classifyFailure(err) === 'programming') failed.set(shardId, { ...observer.status(), state: 'failed', lastError: errorMessage(err) });
        else await sleep(5_000, controller.signal);
      }
    }
  }

  async function round(shards: ShardInfo[]): Promise<void> {
    const ended = leases?.endedShards() ?? new Set<string>();
    const plan = planShards(shards, (id) => (finished.has(id) || ended.has(id) ? { shardEnded: true } : undefined));
    const owned = leases ? await leases.sync(plan.readable) : new Set(plan.readable);
    if (leases) for (const id of leases.held()) if (finished.has(id)) await leases.finish(id);
    // During a backfill or repair, rounds keep renewing leases but start no shard: the
    // shards that hit trimmed data must resume only after it.
    if (!tableReads.busy()) {
      const byId = new Map(shards.map((s) => [s.shardId, s]));
      for (const id of plan.readable) {
        if (owned.has(id) && !workers.has(id) && !failed.has(id) && !controller.signal.aborted) startShard(id, byId.get(id));
      }
    }
    status.leasesHeld = leases?.held() ?? [...owned];
    metrics.leasesHeld.set({ table, worker: workerId }, status.leasesHeld.length);
    metrics.shardsActive.set({ table }, workers.size);
  }

  function shardStatuses(): ShardStatus[] {
    return [...[...workers.values()].map((w) => w.observer.status()), ...failed.values()];
  }

  function snapshot(): BridgeStatus {
    return { ...status, shards: shardStatuses(), leasesHeld: leases?.held() ?? status.leasesHeld };
  }

  function gaugeShardStates() {
    for (const [state, n] of shardStateCounts(shardStatuses())) metrics.shards.set({ table, state }, n);
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
        status.roundFaults = 0;
      } catch (err) {
        metrics.transientFaults.inc({ table, stage: 'round' });
        fault(err, ++status.roundFaults, 'shard discovery or lease renewal failed');
      }
      gaugeShardStates();
      await new Promise<void>((resolve) => {
        wake = resolve;
        void sleep(tick, controller.signal).then(resolve);
      });
    }
  }

  /**
   * Every record is encoded against the registry ids of the topic's subjects
   * (`<topic>-<record name>`, one version per schema file): a topic no `setup`
   * ran for has none, and every record would fail to map, forever. The same
   * idempotent sync `setup` runs registers what is missing; a registry that
   * refuses (an incompatible or drifted subject, no permission to register)
   * stops the bridge; a registry that is down fails the start as retriable.
   */
  async function ensureSubjects(): Promise<void> {
    const topic = connector.topic;
    let report: SyncReport[];
    try {
      report = await syncSchemas(options.schemaStore, catalog, topic);
    } catch (err) {
      if (isRetriable(err)) throw err;
      throw new BridgeRefusedError(
        `the event schemas of topic ${topic} are not registered and could not be: ${errorMessage(err)}. ` +
          `Fix: npm run cli -- schemas register --topic ${topic} (with registry credentials that may register; it names each subject the registry refuses)`,
        { cause: err },
      );
    }
    const registered = report.filter((r) => r.action === 'registered');
    if (registered.length > 0) {
      logger.info({ topic, registered: registered.length, subjects: new Set(registered.map((r) => r.subject)).size }, "registered the topic's missing schema versions");
    }
  }

  /**
   * A shard leaves DescribeStream 24 h after it closed: one with a checkpoint
   * short of its end (the bridge was down that long) has no worker to meet
   * trimmed data, and its children would be read from TRIM_HORIZON with the
   * rest of it silently gone. Checked at start, where such an outage ends.
   */
  async function shardLeftTheStream(arn: string): Promise<boolean> {
    const known = await checkpoints.read(table);
    const described = new Set((await reader.describeShards(arn, controller.signal)).map((s) => s.shardId));
    return [...known].some(([id, c]) => !id.startsWith(SPECIAL_KEY_PREFIX) && !c.shardEnded && !described.has(id));
  }

  return {
    async start() {
      if (status.state !== 'idle') throw new PipelineError('BRIDGE_STATE', `bridge is ${status.state}`);
      status.state = 'starting';
      await ensureSubjects();
      const d = await ddb.send(new DescribeTableCommand({ TableName: table }));
      const arn = d.Table?.LatestStreamArn;
      const view = d.Table?.StreamSpecification?.StreamViewType;
      if (!arn || !d.Table?.StreamSpecification?.StreamEnabled || (view !== 'NEW_IMAGE' && view !== 'NEW_AND_OLD_IMAGES')) {
        throw new PipelineError('NO_STREAM', `table ${table} has no NEW_IMAGE stream (view type: ${view ?? 'none'})`);
      }
      status.streamArn = arn;
      await leases?.ensureTable();
      // A snapshot interrupted by a crash left its plan and segment progress but no completion mark: it continues.
      const hasCheckpoints = async () => hasRelayed(await checkpoints.read(table));
      if (await needsInitialSnapshot({ ddb, connector, hasCheckpoints })) {
        await retry(() => backfill('first start on a table with history'), {
          attempts: 3,
          onRetry: (err) => logger.warn({ err }, 'initial backfill failed; continuing it'),
        });
      } else if (await shardLeftTheStream(arn)) {
        await retry(() => repair('a checkpointed shard left the stream before it was read to its end'), {
          attempts: 3,
          onRetry: (err) => logger.warn({ err }, 'gap repair failed; starting it again'),
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
      await tableReads.settled();
      await leases?.releaseAll();
      metrics.leasesHeld.set({ table, worker: workerId }, 0);
      status.state = 'stopped';
      logger.info('bridge stopped');
    },
    status: snapshot,
    readiness: () => bridgeReadiness(snapshot()),
  };
}
