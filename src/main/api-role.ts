import type { Registry } from 'prom-client';
import { createApp, startApiServer } from '../api/app.js';
import type { ApiKeyPolicy } from '../api/auth.js';
import type { ReadinessCheck } from '../api/deps.js';
import type { LagMonitor } from '../monitor/lag-monitor.js';
import { PipelineError } from '../shared/errors.js';
import type { Clients } from './clients.js';

/** `name:key:requestsPerSecond,…` → key → policy (burst = 2 s worth of requests). */
export function parseApiKeys(spec: string): Map<string, ApiKeyPolicy> {
  const keys = new Map<string, ApiKeyPolicy>();
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, key, rate] = part.split(':');
    const ratePerSecond = Number(rate ?? '10');
    if (!name || !key || key.length < 16 || !(ratePerSecond > 0)) {
      // The key itself is never echoed.
      throw new PipelineError('CONFIG', `API_KEYS: entry for "${name ?? '?'}" must be name:key(≥16 chars):requestsPerSecond`);
    }
    keys.set(key, { name, ratePerSecond, burst: Math.max(1, Math.ceil(ratePerSecond * 2)) });
  }
  return keys;
}

/** What the roles of one process say of themselves: each consumer group's state, the bridge's shards. */
export interface RolesReadiness {
  ready: boolean;
  consumers: Record<string, { state: string; reason?: string | undefined; blocked?: { topic: string; partition: number; kind: string }[] }>;
  bridge?: { ready: boolean; reasons: string[] };
}

/** The API role: the read-only pool, readiness of PostgreSQL and Kafka, the in-process lag monitor. */
export async function startApiRole(o: {
  clients: Clients;
  registry: Registry;
  lag: LagMonitor | undefined;
  /** Consumer groups running in this process: a group retrying on a lost dependency makes the API not ready. */
  consumersReady?: () => RolesReadiness;
}) {
  const { clients, registry, lag } = o;
  const { config } = clients;
  const kafkaCheck: ReadinessCheck = {
    name: 'kafka',
    async check() {
      const admin = clients.kafka().admin({ retry: { retries: 0 } });
      await admin.connect();
      try {
        await admin.describeCluster();
      } finally {
        await admin.disconnect();
      }
    },
  };
  const apiKeys = parseApiKeys(config.apiKeys);
  const app = createApp({
    pool: clients.readerPool(),
    logger: clients.logger.child({ component: 'api' }),
    metrics: registry,
    ...(lag ? { lag: () => lag.snapshot(), lagMaxAgeMs: 3 * config.lagPollIntervalMs } : {}),
    readiness: { checks: [kafkaCheck, ...(o.consumersReady ? [consumersCheck(o.consumersReady)] : [])] },
    ...(apiKeys.size > 0 ? { apiKeys } : {}),
    ...(config.corsOrigins.length > 0 ? { cors: { origins: config.corsOrigins } } : {}),
    staleness: { upToDateMs: 1000, slightlyStaleMs: 5000 },
    readyMaxStalenessMs: config.readyMaxStalenessMs,
    requestTimeoutMs: config.apiRequestTimeoutMs,
    canaryIntervalMs: config.canaryIntervalMs,
    ...(config.apiCursorSecret ? { cursorSecret: config.apiCursorSecret } : {}),
  });
  return startApiServer(app, { port: config.apiPort, host: config.apiHost });
}

function consumersCheck(ready: NonNullable<Parameters<typeof startApiRole>[0]['consumersReady']>): ReadinessCheck {
  return {
    name: 'roles',
    async check() {
      const r = ready();
      if (r.ready) return;
      const notRunning = Object.entries(r.consumers).filter(([, h]) => h.state !== 'running');
      // One short line per group (readiness answers are cut to 1,000 characters): the full reasons are in the ERROR log and `offsets check`.
      const blocked = Object.entries(r.consumers).flatMap(([g, h]) => {
        const b = h.blocked ?? [];
        if (b.length === 0) return [];
        const byTopic = new Map<string, number[]>();
        for (const x of b) byTopic.set(x.topic, [...(byTopic.get(x.topic) ?? []), x.partition]);
        const where = [...byTopic].map(([t, ps]) => `${t} ${ps.sort((m, n) => m - n).join(',')}`).join('; ');
        return [`${g} stopped partitions ${where} (${[...new Set(b.map((x) => x.kind))].join(', ')}); see offsets check --group ${g}`];
      });
      throw new Error(
        [...notRunning.map(([g, h]) => `${g} ${h.state}${h.reason ? `: ${h.reason}` : ''}`), ...blocked, ...(r.bridge?.reasons ?? [])].join('; '),
      );
    },
  };
}
