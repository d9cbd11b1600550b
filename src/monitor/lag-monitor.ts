import type { LogAdmin, LogClient } from '../log/port.js';
import { createSharedAdmin } from '../log/shared-admin.js';
import { readTopicConfigs } from '../log/topics.js';
import type { Registry } from 'prom-client';
import { PipelineError, errorMessage } from '../shared/errors.js';
import { isInternalGroup } from '../shared/group-names.js';
import type { Logger } from '../shared/logger.js';
import type { Pool } from '../db/db.js';
import type { BurrowSettings } from './burrow.js';
import type { PartitionEnds } from './lag-calc.js';
import { createLagMetrics } from './lag-metrics.js';
import { createDisagreementReporter } from './disagreement-reporter.js';
import { createLeftoverRebuildReporter } from './leftover-rebuilds.js';
import { createLagModel, type GroupReading, type PollReadings } from './lag-model.js';
import { emptySnapshot, type LagSnapshot } from './lag-snapshot.js';
import { createRecordProbe, type ProbeRange, type RecordProbe } from '../log/record-probe.js';
import type { ViewFreshnessRow } from '../db/view-freshness.js';
import { readStoredOffsets, readStoredViewFreshness, type StoredOffset } from './stored-offsets.js';

export type { LagSnapshot } from './lag-snapshot.js';

export interface LagMonitorOptions {
  kafka: LogClient;
  /** PostgreSQL with `consumer_offsets` and `view_freshness`; without it only Kafka is read. */
  pool?: Pool;
  /**
   * Groups to watch; 'all' = every group the cluster lists plus every group
   * with offsets in PostgreSQL, except the pipeline's own internal readers
   * (src/shared/group-names.ts `isInternalGroup`). Rebuild groups are
   * reported with `kind: 'rebuild'`.
   */
  groups: string[] | 'all';
  registry: Registry;
  logger: Logger;
  pollIntervalMs: number;
  /** `cluster_name` label (kafka-lag-exporter). */
  clusterName?: string;
  /** Read the first unconsumed record of lagging partitions: exact seconds-lag and transaction-marker detection. */
  exactLagSeconds?: boolean;
  /**
   * Burrow's window settings. Kafka commits are seen by polling, so a live
   * group adds one commit per poll (no closer than `minDistanceMs`): the STALL
   * window is about `intervals` × max(poll interval, minDistanceMs).
   */
  burrow?: Partial<BurrowSettings>;
  /** How long Kafka-committed and PostgreSQL offsets may differ before the disagreement flag rises (default 30 s). */
  disagreementGraceMs?: number;
  now?: () => number;
}

export interface LagMonitor {
  /** Polls now and then every `pollIntervalMs` until {@link LagMonitor.stop}. Poll failures are logged and counted, never thrown. */
  start(): void;
  /** Stops polling, waits for a poll in flight, disconnects. */
  stop(): Promise<void>;
  /** One poll; concurrent callers share the poll in flight. Rejects when the cluster cannot be read at all. */
  pollOnce(): Promise<LagSnapshot>;
  /** The last successful poll's snapshot (empty before the first). */
  snapshot(): LagSnapshot;
}

/**
 * Consumer-lag monitor: reads log-start / log-end offsets, Kafka-committed
 * offsets of the groups and the offsets our groups store in PostgreSQL, and
 * publishes kafka-lag-exporter-compatible metrics, Burrow-style statuses and
 * view freshness to `registry`, plus a JSON snapshot. A group that stores
 * offsets in PostgreSQL is judged by them; its Kafka-committed offsets are
 * advisory (lag-model.ts). It only reads: no
 * group membership, no commits, so it can never disturb the groups it watches.
 */
export function createLagMonitor({
  kafka,
  pool,
  groups,
  registry,
  logger,
  pollIntervalMs,
  clusterName = 'default',
  exactLagSeconds = true,
  burrow,
  disagreementGraceMs,
  now = Date.now,
}: LagMonitorOptions): LagMonitor {
  if (!Number.isFinite(pollIntervalMs) || pollIntervalMs < 100) {
    throw new PipelineError('LAG_MONITOR_CONFIG', `pollIntervalMs must be >= 100, got ${pollIntervalMs}`);
  }
  if (Array.isArray(groups) && groups.length === 0) {
    throw new PipelineError('LAG_MONITOR_CONFIG', "groups must name at least one group, or be 'all'");
  }
  const metrics = createLagMetrics(registry);
  const model = createLagModel({ clusterName, burrow, disagreementGraceMs });
  const newProbe = () => (exactLagSeconds ? createRecordProbe({ kafka, logger }) : undefined);
  let probe: RecordProbe | undefined = newProbe();
  if (exactLagSeconds && !probe) logger.warn('Kafka client offers no record probe: seconds-lag falls back to interpolation');
  let current = emptySnapshot(clusterName);
  let inFlight: Promise<LagSnapshot> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  // Topic configs change rarely: read retention.ms once per topic and then every few minutes.
  const retention = new Map<string, { ms: number | null; readAtMs: number }>();
  const RETENTION_REFRESH_MS = 5 * 60_000;
  let readTopics = new Set<string>();

  const admin = createSharedAdmin(
    kafka,
    (err) => new PipelineError('LAG_MONITOR_KAFKA', `cannot connect to Kafka: ${errorMessage(err)}`, { retriable: true, cause: err }),
  );
  const getAdmin = admin.get;

  async function read(): Promise<PollReadings> {
    let a = await getAdmin();
    const errors: string[] = [];
    // PostgreSQL being down must not hide Kafka lag: its part of the poll degrades to empty.
    const fromPg = <T>(what: string, read: (p: Pool) => Promise<T[]>): Promise<T[]> =>
      pool
        ? read(pool).catch((err: unknown) => {
            errors.push(`${what}: ${errorMessage(err)}`);
            return [];
          })
        : Promise.resolve([]);
    const [stored, views, listed] = await Promise.all([
      fromPg<StoredOffset>('stored offsets', readStoredOffsets),
      fromPg<ViewFreshnessRow>('view freshness', readStoredViewFreshness),
      groups === 'all' ? a.listGroups().then((r) => r.groups.map((g) => g.groupId)) : Promise.resolve(groups),
    ]);
    const all = groups === 'all' ? [...listed, ...stored.map((s) => s.group)].filter((g) => !isInternalGroup(g)) : listed;
    const names = [...new Set(all)];
    const wantedGroups = new Set(names);
    const storedWanted = stored.filter((s) => wantedGroups.has(s.group));

    const described =
      names.length === 0
        ? []
        : await a
            .describeGroups(names)
            .then((r) => r.groups)
            .catch((err: unknown) => {
              errors.push(`describe groups: ${errorMessage(err)}`);
              return [];
            });
    const readings: GroupReading[] = await Promise.all(
      names.map(async (group) => {
        const d = described.find((x) => x.groupId === group);
        const base = {
          group,
          state: d?.state ?? 'Unknown',
          members: d?.members.length ?? 0,
          isSimpleConsumer: (d?.protocolType ?? '') === '',
        };
        try {
          const offsets = await a.fetchOffsets({ groupId: group });
          const committed = offsets.flatMap((t) =>
            t.partitions
              .map((p) => ({ topic: t.topic, partition: p.partition, offset: Number(p.offset) }))
              .filter((p) => p.offset >= 0),
          );
          return { ...base, committed };
        } catch (err) {
          errors.push(`group ${group}: ${errorMessage(err)}`);
          return { ...base, committed: [] };
        }
      }),
    );

    // Groups keep offsets of deleted topics (and tests delete theirs): only existing topics are read.
    const existing = new Set(await a.listTopics());
    if ([...readTopics].some((t) => !existing.has(t))) {
      await resetClients(); // a topic we read was deleted: see resetClients
      a = await getAdmin();
    }
    const topics = [
      ...new Set([...readings.flatMap((g) => g.committed.map((c) => c.topic)), ...storedWanted.map((s) => s.topic)]),
    ].filter((t) => existing.has(t));
    const ends = new Map<string, Map<number, PartitionEnds>>();
    await Promise.all(
      topics.map(async (topic) => {
        try {
          const parts = await a.fetchTopicOffsets(topic);
          ends.set(topic, new Map(parts.map((p) => [p.partition, { earliest: Number(p.low), latest: Number(p.high) }])));
        } catch (err) {
          errors.push(`topic ${topic}: ${errorMessage(err)}`);
        }
      }),
    );
    readTopics = new Set(ends.keys());
    return { groups: readings, stored: storedWanted, ends, views, errors, retentionMs: await readRetention(a, topics) };
  }

  async function readRetention(a: LogAdmin, topics: string[]): Promise<Map<string, number>> {
    const t = now();
    const stale = topics.filter((topic) => (retention.get(topic)?.readAtMs ?? -Infinity) < t - RETENTION_REFRESH_MS);
    if (stale.length > 0) {
      try {
        const configs = await readTopicConfigs(a, stale, ['retention.ms']);
        for (const [topic, values] of configs) {
          const v = Number(values.get('retention.ms') ?? -1);
          retention.set(topic, { ms: v > 0 ? v : null, readAtMs: t });
        }
      } catch (err) {
        // Without DescribeConfigs rights the risk ratio is simply not exported.
        logger.debug({ err: errorMessage(err) }, 'cannot read topic retention');
      }
    }
    const out = new Map<string, number>();
    for (const topic of topics) {
      const ms = retention.get(topic)?.ms;
      if (ms) out.set(topic, ms);
    }
    return out;
  }

  /**
   * kafkajs clients keep every topic they were asked about in their metadata
   * requests; once one is deleted, reads of the others fail too. Fresh
   * clients after a poll with errors make the monitor heal by itself.
   */
  async function resetClients(): Promise<void> {
    const oldProbe = probe;
    probe = newProbe();
    await oldProbe?.close();
    await admin.drop();
  }

  const reportLeftoverRebuilds = createLeftoverRebuildReporter(logger);
  const reportDisagreement = createDisagreementReporter(logger);

  async function poll(): Promise<LagSnapshot> {
    const started = performance.now();
    const readings = await read().catch(async (err: unknown) => {
      await resetClients();
      throw err;
    });
    let probes = new Map<string, ProbeRange[]>();
    if (probe) {
      try {
        probes = await probe.probe(model.probeRequests(readings));
      } catch (err) {
        readings.errors.push(`record probe: ${errorMessage(err)}`);
      }
    }
    if (readings.errors.length > 0) await resetClients();
    const snap = model.update(readings, now(), probes, Math.round((performance.now() - started) * 10) / 10);
    reportLeftoverRebuilds(snap);
    reportDisagreement(snap);
    metrics.publish(snap);
    current = snap;
    return snap;
  }

  function pollOnce(): Promise<LagSnapshot> {
    inFlight ??= poll().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  function schedule(delayMs: number): void {
    if (!running) return;
    timer = setTimeout(() => {
      pollOnce()
        .catch((err: unknown) => {
          metrics.pollFailed();
          logger.warn({ err: errorMessage(err) }, 'lag monitor poll failed');
        })
        .finally(() => schedule(pollIntervalMs));
    }, delayMs);
    timer.unref();
  }

  return {
    start() {
      if (running) return;
      running = true;
      schedule(0);
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      await inFlight?.catch(() => undefined);
      await probe?.close();
      await admin.drop();
    },
    pollOnce,
    snapshot: () => current,
  };
}
