import { hostname } from 'node:os';
import { InvalidArgumentError } from 'commander';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { ConsumerRunner } from '../consumers/runner.js';
import type { RolesReadiness } from './api-role.js';
import { startMetricsServer } from '../monitor/metrics-server.js';
import { announceScrapeTarget } from '../monitor/prometheus-target.js';
import { createLagMonitor, type LagMonitor } from '../monitor/lag-monitor.js';
import { createBridge, ensureTopics } from '../source/bridge.js';
import { createBridgeGroup, type BridgeGroup } from '../source/bridge-group.js';
import { connectorTopics, loadConnectors } from '../source/connector.js';
import { describeReplication, replicationWarnings } from '../log/topics.js';
import { errorMessage } from '../shared/errors.js';
import type { Clients } from './clients.js';
import { startApiRole } from './api-role.js';
import { consumerSources, startConsumerRole } from './consumer-role.js';
import { CONSUMERS } from './consumer-registry.js';
import { isJournalLayout } from '../command/journal.js';
import { startCanaryWriter } from '../command/canary.js';

/** Every role: the bridge, one per consumer group of the registry, the lag monitor and the API. */
export const ROLES = ['bridge', ...CONSUMERS.map((c) => c.role), 'monitor', 'api'] as const;
export type Role = (typeof ROLES)[number];

/** `--roles bridge,views`: every name checked, so a typo is an error rather than a role that silently does not run. */
export function parseRoles(list: string): Role[] {
  const names = list.split(',').map((r) => r.trim()).filter(Boolean);
  const unknown = names.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (names.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(`unknown role(s) ${unknown.join(', ') || '(none given)'}; expected a comma-separated subset of ${ROLES.join(',')}`);
  }
  return names as Role[];
}

export interface RunningPipeline {
  metricsPort: number;
  apiPort: number | undefined;
  lag: LagMonitor | undefined;
  /** One bridge per connector of CONNECTOR_FILE. */
  bridge: BridgeGroup | undefined;
  consumers: Record<string, ConsumerRunner>;
  /** Graceful: stops intake first (bridge), then consumers (commit in-flight batches), then the rest. */
  stop(): Promise<void>;
  /** The role whose stop is in progress (for a shutdown that overruns its grace period). */
  stopping?: string | undefined;
}

/** Readiness of this process's consumer groups and bridge (served on the metrics port as /readyz, and part of the API's). */
export function rolesReady(running: Pick<RunningPipeline, 'consumers' | 'bridge'>): RolesReadiness {
  const consumers = Object.fromEntries(Object.entries(running.consumers).map(([group, r]) => [group, r.health()]));
  const bridge = running.bridge?.readiness();
  // A partition stopped because its stored offset does not fit the topic makes the group not ready: it is not applying events.
  const ready = Object.values(consumers).every((h) => h.state === 'running' && h.blocked.length === 0) && (bridge?.ready ?? true);
  return { ready, consumers, ...(bridge ? { bridge } : {}) };
}

/**
 * Starts the given roles in this process. Every role of one process shares
 * one metrics registry and one /metrics endpoint (announced to the stack's
 * Prometheus); a second process with the same role joins the same consumer
 * group or lease set, which is how the pipeline scales out.
 */
export async function startRoles(clients: Clients, roles: readonly Role[]): Promise<RunningPipeline> {
  const { config, logger } = clients;
  // Client-level counters (kafkajs retries) live on the clients' registry from the first connection on.
  const registry = Registry.merge([new Registry(), clients.metrics]);
  registry.setDefaultLabels({ instance_roles: [...roles].sort().join('+') });
  collectDefaultMetrics({ register: registry });
  // Several connectors: each relays its table into its topic; the consumer roles read every inventory topic.
  const connectors = loadConnectors(config.connectorFile);
  const stops: { role: string; stop: () => Promise<void> }[] = [];
  const running: RunningPipeline = {
    metricsPort: 0,
    apiPort: undefined,
    lag: undefined,
    bridge: undefined,
    consumers: {},
    async stop() {
      for (const { role, stop } of stops.reverse()) {
        running.stopping = role;
        await stop().catch((err: unknown) => logger.warn({ role, err: errorMessage(err) }, 'stopping a role failed; going on with the others'));
      }
      running.stopping = undefined;
    },
  };

  try {
    const metricsServer = await startMetricsServer(registry, {
      port: config.metricsPort,
      host: config.metricsHost,
      ready: () => rolesReady(running),
      // The monitor's snapshot next to its metrics: `cli status` judges the groups on the window this monitor has seen.
      ...(roles.includes('monitor') ? { json: { '/lag': () => running.lag?.snapshot() ?? null } } : {}),
    });
    running.metricsPort = metricsServer.port;
    const withdraw = await announceScrapeTarget(
      config.prometheusTargetsDir,
      `pipeline-${hostname()}-${process.pid}`,
      `127.0.0.1:${metricsServer.port}`,
      { roles: [...roles].sort().join('+') },
    );
    stops.push({
      role: 'metrics',
      stop: async () => {
        await withdraw();
        await metricsServer.close();
      },
    });

    const kafka = clients.kafka();
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const c of connectors) await ensureTopics(admin, c, { replicationFactor: config.topicReplicationFactor });
      // Same rule as `setup`: a topic a broker loss would stop (or lose) is worth a warning at every start.
      const replication = await describeReplication(admin, [...new Set(connectors.flatMap(connectorTopics))]);
      for (const warning of replicationWarnings(replication)) logger.warn({ brokers: replication.brokers }, `topic replication: ${warning}`);
    } finally {
      await admin.disconnect();
    }
    if (roles.includes('bridge')) {
      // The canary's heartbeats go to the first table in the journal's own layout (the only one appends fit).
      const canaryTable = connectors.find((c) => isJournalLayout(c.mapping))?.table;
      const journal = canaryTable === undefined ? undefined : clients.journal(canaryTable);
      await journal?.ensureTable();
      const bridge = createBridgeGroup({
        connectors,
        logger,
        create: (c) =>
          createBridge({
            connector: c,
            kafka,
            ddb: clients.ddb(),
            streams: clients.streams(),
            serde: clients.rawSerde(c.topic),
            schemaStore: clients.schemaStore(),
            logger,
            metrics: registry,
            ...(config.workerId ? { workerId: config.workerId } : {}),
          }),
      });
      await bridge.start();
      running.bridge = bridge;
      stops.push({ role: 'bridge', stop: () => bridge.stop() });
      // The end-to-end canary rides with the bridge: where the bridge runs, heartbeats enter the journal.
      if (config.canaryIntervalMs > 0 && journal === undefined) {
        logger.warn('no connector reads a table in the journal layout: the end-to-end canary is off, freshness falls back to lag');
      } else if (config.canaryIntervalMs > 0 && journal !== undefined) {
        const canary = startCanaryWriter({ journal, intervalMs: config.canaryIntervalMs, logger, registry });
        stops.push({ role: 'canary', stop: () => canary.stop() });
      }
    }

    const consumers = CONSUMERS.filter((c) => roles.includes(c.role));
    if (consumers.length > 0) {
      const sources = consumerSources(clients, connectors);
      for (const c of consumers) {
        const { groupId, runner } = await startConsumerRole({
          clients,
          registry,
          ...sources,
          name: c.name,
          makeHandler: (ctx) => c.handler({ clients, ...sources }, { ...ctx, metrics: registry }),
        });
        running.consumers[groupId] = runner;
        stops.push({ role: c.role, stop: () => runner.stop() });
      }
    }

    if (roles.includes('monitor')) {
      const lag = createLagMonitor({
        kafka,
        pool: clients.pool(),
        groups: config.lagGroups,
        registry,
        logger,
        pollIntervalMs: config.lagPollIntervalMs,
      });
      lag.start();
      running.lag = lag;
      stops.push({ role: 'monitor', stop: () => lag.stop() });
    }

    if (roles.includes('api')) {
      const api = await startApiRole({ clients, registry, lag: running.lag, consumersReady: () => rolesReady(running) });
      running.apiPort = api.port;
      stops.push({ role: 'api', stop: () => api.close() });
    }
  } catch (err) {
    await running.stop();
    throw err;
  }
  return running;
}
