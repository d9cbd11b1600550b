import type { Admin, Producer } from 'kafkajs';
import { createTopicsAndWait } from '../../src/log/topics.js';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpMetrics } from '../../src/api/http-metrics.js';
import { consumerMetrics } from '../../src/consumers/consumer-metrics.js';
import { CONSUMER_STATES } from '../../src/consumers/consumer-observer.js';
import { SHARD_STATES } from '../../src/source/bridge-status.js';
import { createLagMonitor, type LagMonitor } from '../../src/monitor/lag-monitor.js';
import { createBridgeMetrics } from '../../src/source/bridge-metrics.js';
import { startMetricsServer, type MetricsServer } from '../../src/monitor/metrics-server.js';
import { announceScrapeTarget } from '../../src/monitor/prometheus-target.js';
import { config, createTestDatabase, eventually, kafka, testLogger, uniqueName, type TestDatabase, fixtureProducer } from '../helpers/stack.js';
import { alertQueries, dashboardFiles, dashboardQueries, metricNames, substitute, type NamedQuery } from './dashboard-queries.js';

interface PromResponse {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: unknown[] };
}

async function promQuery(expr: string): Promise<PromResponse> {
  const res = await fetch(`${config.prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await res.json()) as PromResponse;
}

/**
 * The other roles' metrics, registered by their own factories (so a renamed
 * metric or label breaks this test, not a dashboard in production) and fed
 * with steady synthetic activity.
 */
function startSyntheticRoles(registry: Registry, run: string): () => void {
  const bridge = createBridgeMetrics(registry);
  const consumers = consumerMetrics(registry);
  const http = createHttpMetrics(registry);
  const table = `journal_${run}`;
  const group = `projector_${run}`;
  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    bridge.recordsRead.inc({ table, shard: 's1' }, 20);
    bridge.recordsRelayed.inc({ table, shard: 's1' }, 19);
    bridge.recordsDeadLettered.inc({ table, shard: 's1', error_code: 'VALIDATION' });
    bridge.backfillItems.inc({ table }, 5);
    bridge.gapRepairItemsRead.inc({ table }, 3);
    bridge.gapRepairRelayed.inc({ table }, 2);
    bridge.getRecordsSeconds.observe({ table }, 0.02 + (tick % 5) / 100);
    bridge.throttles.inc({ table, operation: 'GetRecords' });
    bridge.iteratorAgeMs.set({ table, shard: 's1' }, 1_500);
    bridge.writtenAtAgeMs.set({ table, shard: 's1' }, 1_800);
    bridge.checkpointAgeSeconds.set({ table, shard: 's1' }, 2);
    bridge.transactionsCommitted.inc({ table });
    bridge.transactionsAborted.inc({ table, reason: 'timeout' });
    bridge.producerResets.inc({ table });
    bridge.leasesHeld.set({ table, worker: 'w1' }, 1);
    bridge.shardsActive.set({ table }, 1);
    // As the bridge and the consumer observer export them: every state, 1 or 0 (a count for shards).
    for (const state of SHARD_STATES) bridge.shards.set({ table, state }, state === 'reading' ? 1 : 0);
    for (const state of CONSUMER_STATES) consumers.state.set({ group, state }, state === 'running' ? 1 : 0);
    for (const outcome of ['applied', 'duplicate', 'gap_repaired', 'dead_lettered']) consumers.events.inc({ group, outcome }, 10);
    consumers.batchDuration.observe({ group }, 0.05);
    consumers.errors.inc({ group, code: 'TRANSIENT' });
    consumers.parkedIds.set({ group }, 2);
    consumers.e2eLatency.observe({ view: `view_${run}` }, 0.4);
    consumers.canaryLatency.observe({ group }, 0.3);
    http.observe({ route: '/inventories/:id', method: 'GET', status: 200 }, 0.004);
    http.observe({ route: '/inventories/:id', method: 'GET', status: 500 }, 0.02);
  }, 500);
  return () => clearInterval(timer);
}

/**
 * The stack's real Prometheus scrapes a real lag monitor watching real groups
 * (and the other roles' metrics, see above); then every panel query of every
 * dashboard and every alert expression is evaluated through Prometheus's HTTP
 * API. All must parse; those reading metrics exported here must return data.
 */
describe('dashboards and alert expressions against the real Prometheus', () => {
  const k = kafka('dash-int');
  const run = uniqueName('dash').replaceAll('-', '_');
  const topic = uniqueName('dash');
  const groups = [uniqueName('g-dash-behind'), uniqueName('g-dash-stopped'), uniqueName('g-dash-caught')];
  // The synthetic projector group of the other roles' metrics is selected too.
  const groupRegex = [...groups, `projector_${run}`].join('|');
  let admin: Admin;
  let producer: Producer;
  let produceTimer: NodeJS.Timeout | undefined;
  let db: TestDatabase;
  let monitor: LagMonitor;
  let server: MetricsServer;
  let withdraw: (() => Promise<void>) | undefined;
  let rolesServer: MetricsServer | undefined;
  let withdrawRoles: (() => Promise<void>) | undefined;
  let stopRoles: (() => void) | undefined;
  const registry = new Registry();
  const rolesRegistry = new Registry();

  beforeAll(async () => {
    admin = k.admin();
    await admin.connect();
    await createTopicsAndWait(admin, [{ topic, numPartitions: 4 }]);
    producer = fixtureProducer(k);
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 400 }, (_, i) => ({ partition: i % 4, value: `v${i}` })) });
    await admin.setOffsets({ groupId: groups[0] as string, topic, partitions: [0, 1, 2, 3].map((partition) => ({ partition, offset: '60' })) });
    await admin.setOffsets({ groupId: groups[1] as string, topic, partitions: [0, 1, 2, 3].map((partition) => ({ partition, offset: '5' })) });
    await admin.setOffsets({ groupId: groups[2] as string, topic, partitions: [0, 1, 2, 3].map((partition) => ({ partition, offset: '100' })) });
    // Keep producing so that rate() panels have something to show.
    produceTimer = setInterval(() => {
      void producer.send({ topic, messages: Array.from({ length: 4 }, (_, i) => ({ partition: i, value: 'tick' })) }).catch(() => undefined);
    }, 500);

    db = await createTestDatabase('dash');
    await db.pool.query(`create table consumer_offsets(group_id text, topic text, partition int, next_offset bigint,
      updated_at timestamptz, primary key(group_id, topic, partition))`);
    await db.pool.query(`create table view_freshness(view_name text primary key, group_id text,
      last_source_time timestamptz, last_commit_time timestamptz, last_canary_time timestamptz)`);
    await db.pool.query(`insert into consumer_offsets values ($1, $2, 0, 61, now()), ($1, $2, 1, 60, now())`, [groups[0], topic]);
    await db.pool.query(`insert into view_freshness values ($1, $2, now() - interval '3 seconds', now(), now() - interval '1 second')`, [
      `view_${run}`,
      groups[0],
    ]);

    monitor = createLagMonitor({
      kafka: k,
      pool: db.pool,
      groups,
      registry,
      logger: testLogger,
      pollIntervalMs: 1_000,
      clusterName: run,
      disagreementGraceMs: 0,
      // STOP needs a window's worth of polls: 3 instead of 10 keeps the wait below short.
      burrow: { intervals: 3 },
    });
    await monitor.pollOnce();
    monitor.start();
    server = await startMetricsServer(registry, { port: 0, json: { '/lag': () => monitor.snapshot() } });
    withdraw = await announceScrapeTarget(config.prometheusTargetsDir, run, `127.0.0.1:${server.port}`, { role: 'lag-monitor' });
    stopRoles = startSyntheticRoles(rolesRegistry, run);
    rolesServer = await startMetricsServer(rolesRegistry, { port: 0 });
    withdrawRoles = await announceScrapeTarget(config.prometheusTargetsDir, `${run}_roles`, `127.0.0.1:${rolesServer.port}`, {
      role: 'synthetic',
    });

    // Two scrapes of a moving topic are needed before rate() returns anything; the stopped group's
    // STOP (the alert rules' input) needs a window of polls.
    await eventually(async () => {
      const r = await promQuery(`rate(kafka_partition_latest_offset{cluster_name="${run}"}[30s]) > 0`);
      const roles = await promQuery(`rate(cdc_bridge_records_read_total{table="journal_${run}"}[30s]) > 0`);
      const stop = await promQuery(`pipeline_consumer_status{cluster_name="${run}",status="STOP"} == 1`);
      return [r, roles, stop].every((q) => (q.data?.result.length ?? 0) > 0) ? true : undefined;
    }, 90_000, 1_000);
  });

  afterAll(async () => {
    if (produceTimer) clearInterval(produceTimer);
    stopRoles?.();
    await withdrawRoles?.();
    await rolesServer?.close();
    await withdraw?.();
    await server?.close();
    await monitor?.stop();
    await producer?.disconnect();
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect();
    await db?.drop();
  });

  const vars = () => ({ group: groupRegex, __rate_interval: '30s', __range: '5m' });
  const exported = () => new Set([...registry.getMetricsAsArray(), ...rolesRegistry.getMetricsAsArray()].map((m) => m.name));

  /** Alert expressions filter by their threshold; `bool` keeps the series so that "returns data" can be checked. */
  const withBool = (expr: string) => expr.replace(/\s(>=|<=|==|!=|>|<)\s+(?!bool)/g, ' $1 bool ');

  async function check(queries: NamedQuery[]) {
    const mine = exported();
    const problems: string[] = [];
    let withData = 0;
    for (const q of queries) {
      const expr = substitute(q.expr, vars());
      const r = await promQuery(expr);
      if (r.status !== 'success') {
        problems.push(`${q.source}: ${r.error ?? 'error'} — ${expr}`);
        continue;
      }
      const names = metricNames(q.expr);
      if (names.length > 0 && names.every((n) => mine.has(n)) && !expr.startsWith('absent(')) {
        const shown = q.source.startsWith('alert ') ? await promQuery(withBool(expr)) : r;
        if ((shown.data?.result.length ?? 0) === 0) problems.push(`${q.source}: no data — ${expr}`);
        else withData++;
      }
    }
    return { problems, withData };
  }

  it.each(dashboardFiles())('%s: every panel query parses; panels on monitor metrics return data', async (file) => {
    const queries = await dashboardQueries(file);
    expect(queries.length).toBeGreaterThan(0);
    const { problems, withData } = await check(queries);
    expect(problems).toEqual([]);
    // Every query reads metrics some role of the pipeline exports, so every one returned data.
    expect(withData).toBe(queries.length);
  });

  it('serves the JSON snapshot at /lag next to /metrics', async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/lag`);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await res.json()) as { clusterName: string; groups: { group: string }[] };
    expect(body.clusterName).toBe(run);
    expect(body.groups.map((x) => x.group).sort()).toEqual([...groups].sort());
  });

  it('the consumer-lag dashboard variable finds the groups', async () => {
    const res = await fetch(`${config.prometheusUrl}/api/v1/label/group/values?match[]=kafka_consumergroup_group_max_lag`);
    const body = (await res.json()) as { data: string[] };
    expect(body.data).toEqual(expect.arrayContaining(groups));
  });

  it('every alert expression parses; those on monitor metrics return series (threshold as bool)', async () => {
    const { problems, withData } = await check(await alertQueries());
    expect(problems).toEqual([]);
    expect(withData).toBeGreaterThanOrEqual(5);
  });

  it('a stopped group shows up in the status the alert reads', async () => {
    const r = await eventually(async () => {
      const q = await promQuery(`pipeline_consumer_status{cluster_name="${run}",status=~"STOP|STALL|REWIND"} == 1`);
      const groupsSeen = (q.data?.result ?? []).map((x) => (x as { metric: { group: string } }).metric.group);
      return groupsSeen.includes(groups[1] as string) ? groupsSeen : undefined;
    }, 30_000, 1_000);
    expect(r).toContain(groups[1]);
  });

  it('the stack Prometheus has loaded the alert rules and every rule is healthy', async () => {
    await fetch(`${config.prometheusUrl}/-/reload`, { method: 'POST' });
    const res = await fetch(`${config.prometheusUrl}/api/v1/rules`);
    const body = (await res.json()) as { data: { groups: { file: string; rules: { name: string; health: string; lastError?: string }[] }[] } };
    const ours = body.data.groups.filter((g) => g.file.endsWith('dashboards/prometheus/alerts.yml'));
    // scripts/stack.sh lists dashboards/prometheus/alerts.yml in rule_files at `up`.
    expect(ours.length).toBeGreaterThan(0);
    await eventually(async () => {
      const again = (await (await fetch(`${config.prometheusUrl}/api/v1/rules`)).json()) as typeof body;
      const rules = again.data.groups.filter((g) => g.file.endsWith('alerts.yml')).flatMap((g) => g.rules);
      return rules.every((r) => r.health === 'ok') ? true : undefined;
    }, 30_000, 1_000);
  });
});
