/**
 * Poll cost of the lag monitor for 3 groups × 64 partitions (target < 50 ms
 * per poll, median). Two scenarios on the real broker and PostgreSQL:
 *   steady — Kafka-committed offsets behind the log end and not moving: the
 *            record probe answers from its cache after the first poll;
 *   moving — the same groups also store offsets in PostgreSQL that advance
 *            before every poll, so every lagging partition is probed again
 *            (one read_committed Fetch per broker per poll).
 * CPU share (%) = process CPU time ÷ wall time while polling back to back,
 * and the share one poll takes of a 5 s poll interval. JSON written to
 * bench/results/lag-monitor.json.
 *
 *   node --import tsx bench/lag-monitor-poll.ts   (POLLS=40)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { loadConfig } from '../src/config/config.js';
import { createKafka, kafkaSettingsOf } from '../src/log/kafka.js';
import { createLagMonitor, type LagMonitor } from '../src/monitor/lag-monitor.js';
import { silentLogger } from '../src/shared/logger.js';
import { createTestDatabase } from '../test/helpers/stack.js';

const POLLS = Number(process.env.POLLS ?? 40);
const PARTITIONS = 64;
const GROUPS = 3;
const INTERVAL_MS = 5_000;
const config = loadConfig();
const logger = silentLogger();
const kafka = createKafka(
  kafkaSettingsOf(config),
  logger,
  'bench-lag',
);
const id = `bench-lag-${Date.now().toString(36)}`;
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? NaN;
const round = (x: number) => Math.round(x * 100) / 100;

async function measure(monitor: LagMonitor, beforeEach: (i: number) => Promise<void>) {
  await monitor.pollOnce(); // warm-up: connections, metadata, first probe of every partition
  const wall: number[] = [];
  let cpuUs = 0;
  let wallMs = 0;
  for (let i = 0; i < POLLS; i++) {
    await beforeEach(i);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const snap = await monitor.pollOnce();
    const dt = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (snap.errors.length > 0) throw new Error(snap.errors.join('; '));
    wall.push(dt);
    wallMs += dt;
    cpuUs += cpu.user + cpu.system;
  }
  const cpuMsPerPoll = cpuUs / 1000 / POLLS;
  return {
    medianMs: round(percentile(wall, 0.5)),
    p95Ms: round(percentile(wall, 0.95)),
    cpuMsPerPoll: round(cpuMsPerPoll),
    cpuPctBackToBack: round((100 * cpuUs) / 1000 / wallMs),
    cpuPctAt5sInterval: round((100 * cpuMsPerPoll) / INTERVAL_MS),
  };
}

async function main() {
  const topic = `${id}.events`;
  const groups = Array.from({ length: GROUPS }, (_, i) => `${id}-g${i}`);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: config.topicReplicationFactor }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: PARTITIONS * 200 }, (_, i) => ({ partition: i % PARTITIONS, value: `v${i}` })) });
  await producer.disconnect();
  for (const [n, groupId] of groups.entries()) {
    await admin.setOffsets({ groupId, topic, partitions: Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, offset: String(20 + n * 50) })) });
  }

  const db = await createTestDatabase('bench_lag', { max: 4 });
  const pool = db.pool;
  pool.on('error', () => undefined); // connections dropped with the database at the end

  try {
    const steadyMonitor = createLagMonitor({ kafka, groups, registry: new Registry(), logger, pollIntervalMs: INTERVAL_MS, clusterName: 'bench' });
    const steady = await measure(steadyMonitor, async () => undefined);
    await steadyMonitor.stop();

    await pool.query(`create table consumer_offsets(group_id text, topic text, partition int, next_offset bigint,
      updated_at timestamptz, primary key(group_id, topic, partition))`);
    await pool.query(`create table view_freshness(view_name text primary key, group_id text, last_source_time timestamptz, last_commit_time timestamptz)`);
    await pool.query(
      `insert into consumer_offsets select g, $1, p, 10, now() from unnest($2::text[]) g, generate_series(0, $3 - 1) p`,
      [topic, groups, PARTITIONS],
    );
    const movingMonitor = createLagMonitor({ kafka, pool, groups, registry: new Registry(), logger, pollIntervalMs: INTERVAL_MS, clusterName: 'bench' });
    const moving = await measure(movingMonitor, (i) =>
      pool.query('update consumer_offsets set next_offset = $1, updated_at = now()', [11 + i]).then(() => undefined),
    );
    await movingMonitor.stop();

    const result = {
      benchmark: 'lag-monitor-poll',
      at: new Date().toISOString(),
      groups: GROUPS,
      partitionsPerGroup: PARTITIONS,
      polls: POLLS,
      targetMedianMs: 50,
      steady,
      moving,
      node: process.version,
    };
    console.log(`lag monitor poll, ${GROUPS} groups × ${PARTITIONS} partitions, ${POLLS} polls each`);
    console.table({ steady, moving });
    const out = path.resolve(import.meta.dirname, 'results/lag-monitor.json');
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${path.relative(process.cwd(), out)}`);
  } finally {
    await db.drop();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
