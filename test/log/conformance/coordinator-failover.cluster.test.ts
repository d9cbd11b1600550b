import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsumerEvent } from '../../../src/consumers/consumer-observer.js';
import { createInventoryProjector } from '../../../src/consumers/projectors/inventory-projector.js';
import { createConsumerRunner, type ConsumerRunner } from '../../../src/consumers/runner.js';
import { createLagMonitor } from '../../../src/monitor/lag-monitor.js';
import { findCoordinator, untilClusterWhole } from '../../helpers/kafka-cluster.js';
import { consumerFixture, produceRecords, writeHistory } from '../../helpers/pipeline.js';
import { eventually, kafka, testLogger } from '../../helpers/stack.js';

const execFileAsync = promisify(execFile);
const stackSh = (...args: string[]) => execFileAsync('bash', ['scripts/stack.sh', ...args], { timeout: 180_000, maxBuffer: 16 << 20 });

/** The session timeout the group runs with: the bound every recovery below is held to. */
const SESSION_TIMEOUT_MS = 10_000;
/** How long the killed broker stays down (the reproduction restarted it after 21 s). */
const DOWN_MS = 20_000;

/**
 * Client conformance on a 3-broker cluster (scripts/fault-run.sh runs the
 * *.cluster.test.ts files when the stack has 3 brokers): kill -9 of the
 * broker coordinating a consumer group, under load. The group's commits and
 * heartbeats must reach the new coordinator, and Kafka's committed offsets
 * (the copy standard tools read) must equal the offsets stored in
 * PostgreSQL on every partition, idle ones included, within one session
 * timeout (plus the offset sync's interval) of the kill.
 *
 * kafkajs 2.2.4 kept the coordinator it found at the last join: commits went
 * on to that node id (NOT_COORDINATOR once it was back) and heartbeats failed
 * until the session expired and the member rejoined — 3 min 6 s in the
 * 3-broker fault run, 131 s here. Fixed by patch 5 of scripts/patch-kafkajs.mjs.
 */
describe('group coordinator failover (3 brokers, real servers)', () => {
  let f: Awaited<ReturnType<typeof consumerFixture>>;
  let runner: ConsumerRunner | undefined;
  const events: ConsumerEvent[] = [];

  beforeAll(async () => {
    const admin = kafka('coord-failover-whole').admin();
    await admin.connect();
    await untilClusterWhole(admin).finally(() => admin.disconnect());
    f = await consumerFixture('coord-failover', 6);
  });
  afterAll(async () => {
    await runner?.stop().catch(() => undefined);
    await f?.close();
  });

  const storedAndCommitted = async () => {
    const stored = new Map(
      (await f.db.pool.query<{ partition: number; next_offset: string }>('select partition, next_offset from consumer_offsets where group_id = $1', [f.groupId])).rows.map(
        (r) => [r.partition, Number(r.next_offset)],
      ),
    );
    const committed = new Map((await f.admin.fetchOffsets({ groupId: f.groupId, topics: [f.topic] }))[0]!.partitions.map((p) => [p.partition, Number(p.offset)]));
    return { stored, committed };
  };

  it('commits and heartbeats reach the new coordinator, and Kafka offsets equal the stored ones on every partition within the bound', async () => {
    const history = await writeHistory(f.journal, 60, 6, 'CF');
    runner = createConsumerRunner({
      kafka: f.kafka, pool: f.db.pool, groupId: f.groupId, topics: [f.topic], serde: f.serde,
      handler: createInventoryProjector({ journal: f.journal, serde: f.serde, pool: f.db.pool, logger: testLogger, groupId: f.groupId }),
      logger: testLogger, metrics: new Registry(), sessionTimeoutMs: SESSION_TIMEOUT_MS, observer: (e) => events.push(e),
    });
    await runner.start();
    // Load: the history in slices, so that batches are being committed when the coordinator dies.
    const slices = Array.from({ length: 12 }, (_, i) => history.slice((i * history.length) / 12, ((i + 1) * history.length) / 12));
    await produceRecords(f.producer, f.serde, f.topic, slices[0]!);
    await eventually(async () => ((await storedAndCommitted()).stored.size > 0 ? true : undefined), 60_000, 250);

    const coordinator = await findCoordinator(f.groupId, 'group');
    const load = (async () => {
      for (const s of slices.slice(1)) {
        await produceRecords(f.producer, f.serde, f.topic, s).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    await new Promise((r) => setTimeout(r, 2000));
    const killedAt = Date.now();
    await stackSh('stop', '--kill', `kafka-${coordinator}`);
    await new Promise((r) => setTimeout(r, DOWN_MS));
    await stackSh('up', `kafka-${coordinator}`);
    await load;
    // Whatever did not make it during the outage is sent again (idempotent producer: no duplicates).
    const ends = await f.admin.fetchTopicOffsets(f.topic);
    const total = ends.reduce((n, e) => n + Number(e.high), 0);
    expect(total).toBeGreaterThanOrEqual(history.length);

    // Every partition: stored offset at the log end (the data), and Kafka's committed copy equal to it.
    const converged = await eventually(async () => {
      const { stored, committed } = await storedAndCommitted();
      const high = new Map((await f.admin.fetchTopicOffsets(f.topic)).map((e) => [e.partition, Number(e.high)]));
      const done = [...high].every(([p, h]) => (stored.get(p) ?? 0) >= h - 1 && committed.get(p) === stored.get(p));
      return done ? Date.now() : undefined;
    }, 240_000, 500).catch(async (err: unknown) => {
      throw new Error(`${String(err)}: ${JSON.stringify(await storedAndCommitted(), (_, v: unknown) => (v instanceof Map ? [...v] : v))}`);
    });
    // What operators see (issue 27): the lag monitor, polling the whole time, reads the group OK on every
    // partition from the stored offsets, idle ones included; Kafka's own view agrees too once the copy is current.
    const monitor = createLagMonitor({ kafka: f.kafka, pool: f.db.pool, groups: [f.groupId], registry: new Registry(), logger: testLogger, pollIntervalMs: 1000 });
    let snap = await monitor.pollOnce();
    for (let i = 0; i < 3; i++) snap = await monitor.pollOnce();
    await monitor.stop();
    const g = snap.groups.find((x) => x.group === f.groupId)!;
    expect(g.offsetSource).toBe('postgres');
    expect(g.status?.status).toBe('OK');
    expect(g.sumLag).toBe(0);
    expect(g.topics.flatMap((t) => t.partitions.map((p) => [p.partition, p.status, p.offset === p.committedOffset]))).toEqual(
      [0, 1, 2, 3, 4, 5].map((p) => [p, 'OK', true]),
    );
    const newCoordinator = await findCoordinator(f.groupId, 'group');
    const tookMs = converged - killedAt;
    // eslint-disable-next-line no-console -- the bound's measured value belongs in the run's log
    console.log(`coordinator ${coordinator} → ${newCoordinator}; Kafka offsets current on every partition ${(tookMs / 1000).toFixed(1)} s after the kill (broker down ${DOWN_MS / 1000} s)`);
    expect(newCoordinator).not.toBe(-1);
    // The stated bound: the broker's outage + one session timeout + one offset-sync interval (10 s) = 40 s here,
    // asserted with 20 s of slack for a busy 2-core machine. Measured on 3 brokers here: 30.5 s patched; stock
    // kafkajs 131 s; unpatched with the runner's 5 s retry cap alone 82 s.
    expect(tookMs).toBeLessThanOrEqual(DOWN_MS + SESSION_TIMEOUT_MS + 10_000 + 20_000);
    // The member survived in the group (heartbeats reached a coordinator); it never crashed out.
    expect(runner.health().state).toBe('running');
    const described = (await f.admin.describeGroups([f.groupId])).groups[0]!;
    expect(described.members.length).toBe(1);
  });
});
