import type { Admin, Kafka } from 'kafkajs';
import { createTopicsAndWait } from '../../src/log/topics.js';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLagMonitor, type LagMonitor, type LagSnapshot } from '../../src/monitor/lag-monitor.js';
import type { PartitionLag } from '../../src/monitor/lag-snapshot.js';
import { createTestDatabase, kafka, testLogger, uniqueName, type TestDatabase, fixtureProducer } from '../helpers/stack.js';

const PARTITIONS = 3;
const PER_PARTITION = 100;

/** A consumer positioned at the committed offset computes lag as log end − max(committed, log start). */
async function consumerLag(admin: Admin, groupId: string, topic: string): Promise<Map<number, number>> {
  const [ends, [committed]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const out = new Map<number, number>();
  for (const e of ends) {
    const c = Number(committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? -1);
    if (c >= 0) out.set(e.partition, Math.max(0, Number(e.high) - Math.max(c, Number(e.low))));
  }
  return out;
}

function partitions(snap: LagSnapshot, group: string, topic: string): PartitionLag[] {
  return snap.groups.find((g) => g.group === group)?.topics.find((t) => t.topic === topic)?.partitions ?? [];
}

describe('lag monitor against the real broker and PostgreSQL', () => {
  const k: Kafka = kafka('lag-int');
  let admin: Admin;
  let db: TestDatabase;
  const topic = uniqueName('lag');
  const txTopic = uniqueName('lag-tx');
  const g = {
    caught: uniqueName('g-caught'),
    behind: uniqueName('g-behind'),
    stopped: uniqueName('g-stopped'),
    rewound: uniqueName('g-rewound'),
    txCaught: uniqueName('g-tx-caught'),
    txConsumer: uniqueName('g-tx-consumer'),
    txMid: uniqueName('g-tx-mid'),
    storedOnly: uniqueName('g-stored'),
  };
  const baseTs = Date.now() - 300_000;
  let monitor: LagMonitor;
  let registry: Registry;

  const setOffsets = (groupId: string, t: string, offsets: number[]) =>
    admin.setOffsets({ groupId, topic: t, partitions: offsets.map((o, partition) => ({ partition, offset: String(o) })) });

  beforeAll(async () => {
    admin = k.admin();
    await admin.connect();
    await createTopicsAndWait(admin, [
      { topic, numPartitions: PARTITIONS },
      { topic: txTopic, numPartitions: 1 },
    ]);
    const producer = fixtureProducer(k);
    await producer.connect();
    // Record i of every partition is stamped baseTs + i s: the exact seconds-lag is known.
    await producer.send({
      topic,
      messages: Array.from({ length: PARTITIONS * PER_PARTITION }, (_, n) => ({
        partition: n % PARTITIONS,
        value: `v${n}`,
        timestamp: String(baseTs + Math.floor(n / PARTITIONS) * 1000),
      })),
    });
    await producer.disconnect();

    // Transactional topic: committed 0-4 (+marker 5), 6-10 (+11), aborted 12-16 (+17), committed 18-22 (+23).
    const tx = k.producer({ transactionalId: uniqueName('lag-tx'), idempotent: true, maxInFlightRequests: 1 });
    await tx.connect();
    for (const outcome of ['commit', 'commit', 'abort', 'commit'] as const) {
      const t = await tx.transaction();
      await t.send({ topic: txTopic, messages: Array.from({ length: 5 }, (_, i) => ({ value: `${outcome}${i}` })) });
      if (outcome === 'commit') await t.commit();
      else await t.abort();
    }
    await tx.disconnect();

    await setOffsets(g.caught, topic, [100, 100, 100]);
    await setOffsets(g.behind, topic, [40, 70, 100]);
    await setOffsets(g.stopped, topic, [10, 10, 10]);
    await setOffsets(g.rewound, topic, [80, 80, 80]);
    // Like a projector that stores last data offset + 1: it sits below the commit marker.
    await setOffsets(g.txCaught, txTopic, [23]);
    await setOffsets(g.txMid, txTopic, [12]);

    // kafkajs setOffsets joins the group as a consumer, so these are not "simple" groups.
    // A real read_committed kafkajs consumer that reads everything and commits.
    const consumer = k.consumer({ groupId: g.txConsumer, readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topic: txTopic, fromBeginning: true });
    let seen = 0;
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async () => {
          if (++seen === 15) resolve();
        },
      });
    });
    await consumer.disconnect();

    db = await createTestDatabase('lagmon');
    await db.pool.query(`create table consumer_offsets(group_id text, topic text, partition int, next_offset bigint,
      updated_at timestamptz, primary key(group_id, topic, partition))`);
    await db.pool.query(`create table view_freshness(view_name text primary key, group_id text,
      last_source_time timestamptz, last_commit_time timestamptz)`);
    // behind: PostgreSQL agrees with Kafka on p0 and p2, is ahead on p1 (Kafka commit pending): its lag is PostgreSQL's.
    await db.pool.query(
      `insert into consumer_offsets values ($1,$2,0,40,now()), ($1,$2,1,75,now()), ($1,$2,2,100,now()), ($3,$2,0,90,now()), ($4,$5,0,23,now())`,
      [g.behind, topic, g.storedOnly, g.txCaught, txTopic],
    );
    await db.pool.query(`insert into view_freshness values ('stock_by_zone', $1, now() - interval '30 seconds', now())`, [g.behind]);

    registry = new Registry();
    monitor = createLagMonitor({
      kafka: k,
      pool: db.pool,
      groups: Object.values(g),
      registry,
      logger: testLogger,
      pollIntervalMs: 1_000,
      clusterName: 'local',
      disagreementGraceMs: 0,
      // A window of 3: the Burrow test below comes after 3 polls, enough to judge it.
      burrow: { minDistanceMs: 0, intervals: 3 },
    });
  });

  afterAll(async () => {
    await monitor?.stop();
    await admin?.deleteTopics({ topics: [topic, txTopic] }).catch(() => undefined);
    await admin?.disconnect();
    await db?.drop();
  });

  it('offset lag equals what a consumer at the committed offsets computes (advisory for a group storing offsets)', async () => {
    const snap = await monitor.pollOnce();
    expect(snap.errors).toEqual([]);
    for (const group of [g.caught, g.behind, g.stopped, g.rewound]) {
      const expected = await consumerLag(admin, group, topic);
      const got = new Map(partitions(snap, group, topic).map((p) => [p.partition, group === g.behind ? p.kafka?.lag : p.lag]));
      expect(got).toEqual(expected);
    }
    expect(partitions(snap, g.behind, topic).map((p) => p.kafka?.lag)).toEqual([60, 30, 0]);
    // Where g.behind stands is PostgreSQL's: 40, 75, 100.
    expect(partitions(snap, g.behind, topic).map((p) => p.lag)).toEqual([60, 25, 0]);
    const behind = snap.groups.find((x) => x.group === g.behind);
    expect(behind).toMatchObject({ offsetSource: 'postgres', maxLag: 60, sumLag: 85 });
    expect(snap.groups.find((x) => x.group === g.caught)).toMatchObject({ offsetSource: 'kafka', kafkaStatus: null });
  });

  it('reads exact seconds-lag from the record at the committed offset', async () => {
    const snap = await monitor.pollOnce();
    const [p0, , p2] = partitions(snap, g.behind, topic);
    expect(p0?.lagSecondsMethod).toBe('exact');
    const expected = (Date.parse(snap.polledAt ?? '') - (baseTs + 40_000)) / 1000;
    expect(p0?.lagSeconds).toBeCloseTo(expected, 0);
    expect(p2).toMatchObject({ lag: 0, lagSeconds: 0 });
  });

  it('does not count transaction markers as lag', async () => {
    const snap = await monitor.pollOnce();
    const [ends] = await admin.fetchTopicOffsets(txTopic);
    expect(Number(ends?.high)).toBe(24); // the markers are in the log...
    expect(partitions(snap, g.txCaught, txTopic)[0]).toMatchObject({ committedOffset: 23, lag: 0, lagSeconds: 0 });
    expect(partitions(snap, g.txConsumer, txTopic)[0]).toMatchObject({ lag: 0, lagSeconds: 0 });
    // ...and a group before the aborted transaction still has committed data ahead of it.
    expect(partitions(snap, g.txMid, txTopic)[0]).toMatchObject({ committedOffset: 12, lag: 12 });
  });

  it('reports Burrow statuses: caught up OK, stopped STOP, rewound REWIND', async () => {
    await setOffsets(g.rewound, topic, [30, 30, 30]);
    await new Promise((r) => setTimeout(r, 50));
    const snap = await monitor.pollOnce();
    const status = (group: string) => snap.groups.find((x) => x.group === group)?.status;
    expect(status(g.caught)).toMatchObject({ status: 'OK', reason: 'caught_up' });
    expect(status(g.stopped)).toMatchObject({ status: 'STOP', burrowStatus: 'ERR', reason: 'commits_stopped' });
    expect(status(g.rewound)).toMatchObject({ status: 'REWIND', burrowStatus: 'ERR', reason: 'offset_rewound' });
    expect(status(g.txCaught)).toMatchObject({ status: 'OK' });
  });

  it('computes lag from PostgreSQL offsets and flags disagreement', async () => {
    const snap = await monitor.pollOnce();
    const [p0, p1] = partitions(snap, g.behind, topic);
    expect(p0?.stored).toMatchObject({ offset: 40, lag: 60, disagree: false });
    expect(p1?.stored).toMatchObject({ offset: 75, lag: 25, disagree: true });
    expect(partitions(snap, g.storedOnly, topic)[0]).toMatchObject({ committedOffset: null, stored: { offset: 90, lag: 10 } });
    expect(partitions(snap, g.txCaught, txTopic)[0]?.stored).toMatchObject({ lag: 0 });
    const view = snap.views.find((v) => v.view === 'stock_by_zone');
    expect(view?.freshnessSeconds).toBeGreaterThanOrEqual(29);
    expect(view?.freshnessSeconds).toBeLessThan(60);
  });

  it('exports the kafka-lag-exporter family and pipeline metrics', async () => {
    await monitor.pollOnce();
    const text = await registry.metrics();
    const line = (prefix: string) => text.split('\n').find((l) => l.startsWith(prefix));
    expect(line(`kafka_consumergroup_group_lag{cluster_name="local",group="${g.behind}",kind="live",topic="${topic}",partition="0"}`)).toMatch(/ 60$/);
    expect(line(`kafka_consumergroup_group_max_lag{cluster_name="local",group="${g.behind}",kind="live",is_simple_consumer="false"}`)).toMatch(/ 60$/);
    expect(line(`kafka_consumergroup_group_sum_lag{cluster_name="local",group="${g.behind}",kind="live"}`)).toMatch(/ 85$/);
    expect(line(`kafka_consumergroup_group_topic_sum_lag{cluster_name="local",group="${g.behind}",kind="live",topic="${topic}"}`)).toMatch(/ 85$/);
    expect(line(`kafka_partition_latest_offset{cluster_name="local",topic="${topic}",partition="1"}`)).toMatch(/ 100$/);
    expect(line(`kafka_partition_earliest_offset{cluster_name="local",topic="${topic}",partition="1"}`)).toMatch(/ 0$/);
    expect(line(`kafka_consumergroup_group_offset{cluster_name="local",group="${g.behind}",kind="live",topic="${topic}",partition="1"}`)).toMatch(/ 75$/);
    expect(line(`pipeline_consumer_kafka_offset{cluster_name="local",group="${g.behind}",kind="live",topic="${topic}",partition="1"}`)).toMatch(/ 70$/);
    expect(line(`pipeline_consumer_kafka_lag{cluster_name="local",group="${g.behind}",kind="live",topic="${topic}",partition="1"}`)).toMatch(/ 30$/);
    expect(line(`pipeline_consumer_offsets_difference{cluster_name="local",group="${g.behind}",kind="live",topic="${topic}",partition="1"}`)).toMatch(/ 5$/);
    expect(line(`pipeline_consumer_status{cluster_name="local",group="${g.behind}",kind="live",source="postgres"`)).toMatch(/ 1$/);
    expect(text).not.toContain(`group="${g.behind}",kind="live",source="kafka"`);
    expect(line('kafka_consumergroup_poll_time_ms{cluster_name="local"}')).toBeDefined();
    expect(line(`kafka_consumergroup_group_lag_seconds{cluster_name="local",group="${g.txCaught}",kind="live"`)).toMatch(/ 0$/);
    expect(line(`pipeline_consumer_status{cluster_name="local",group="${g.stopped}",kind="live",source="kafka",status="STOP",reason="commits_stopped"}`)).toMatch(/ 1$/);
    expect(line(`pipeline_consumer_offsets_disagree{cluster_name="local",group="${g.behind}",kind="live",topic="${topic}",partition="1"}`)).toMatch(/ 1$/);
    expect(line(`pipeline_consumer_stored_lag{cluster_name="local",group="${g.storedOnly}",kind="live",topic="${topic}",partition="0"}`)).toMatch(/ 10$/);
    expect(line('pipeline_view_freshness_seconds{view="stock_by_zone"}')).toBeDefined();
    expect(line(`pipeline_topic_retention_seconds{cluster_name="local",topic="${topic}"}`)).toMatch(/ \d+$/);
    expect(line(`pipeline_consumer_retention_risk_ratio{cluster_name="local",group="${g.behind}",kind="live",topic="${topic}"}`)).toMatch(/ 0\.\d+/);
    expect(text).not.toMatch(/NaN/);
  });
});
