import type { Admin, Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaOffsetSync, type KafkaOffsetSync } from '../../src/consumers/kafka-offset-sync.js';
import { migrate } from '../../src/db/migrate.js';
import { createTopicsAndWait } from '../../src/log/topics.js';
import { createTestDatabase, eventually, kafka, testLogger, uniqueName, type TestDatabase, writeFixture } from '../helpers/stack.js';

/**
 * The runner's Kafka offset sync against the real broker and PostgreSQL: a
 * real group member (kafkajs consumer) owns the partitions, PostgreSQL holds
 * the offsets, and what the broker returns for the group (what kminion or
 * Burrow read) is checked.
 */
describe('Kafka offset sync', () => {
  const k = kafka('offset-sync');
  const topic = uniqueName('sync');
  const groupId = uniqueName('g-sync');
  let admin: Admin;
  let db: TestDatabase;
  let consumer: Consumer;
  let sync: KafkaOffsetSync;

  const kafkaOffsets = async () => {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Object.fromEntries((t?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  };
  const store = (partition: number, offset: number) =>
    db.pool.query(
      `insert into consumer_offsets(group_id, topic, partition, next_offset) values ($1, $2, $3, $4)
       on conflict (group_id, topic, partition) do update set next_offset = excluded.next_offset, updated_at = now()`,
      [groupId, topic, partition, offset],
    );

  beforeAll(async () => {
    admin = k.admin();
    await admin.connect();
    await createTopicsAndWait(admin, [{ topic, numPartitions: 3 }]);
    await writeFixture(k, { topic, messages: Array.from({ length: 60 }, (_, i) => ({ partition: i % 3, value: `v${i}` })) });
    db = await createTestDatabase('sync');
    await migrate(db.pool, 'migrations');
    // Kafka's copy is stale: committed while the group was stopped (a failover left it there).
    await admin.setOffsets({ groupId, topic, partitions: [0, 1, 2].map((partition) => ({ partition, offset: '3' })) });
    await store(0, 20);
    await store(1, 17);

    sync = createKafkaOffsetSync({ kafka: k, pool: db.pool, groupId, logger: testLogger, intervalMs: 500 });
    consumer = k.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 1_000 });
    consumer.on(consumer.events.GROUP_JOIN, (e) => sync.onAssignment(consumer, e.payload.memberAssignment));
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    // Reads nothing it would commit: the member exists to own the partitions.
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined });
  }, 60_000);

  afterAll(async () => {
    await sync?.close();
    await consumer?.disconnect();
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.deleteGroups([groupId]).catch(() => undefined);
    await admin?.disconnect();
    await db?.drop();
  });

  it('on assignment: stored offsets copied to Kafka; a partition with nothing stored left as it was', async () => {
    expect(await eventually(async () => {
      const o = await kafkaOffsets();
      return o[0] === 20 && o[1] === 17 ? o : undefined;
    }, 20_000)).toEqual({ 0: 20, 1: 17, 2: 3 });
  });

  it('an idle partition whose stored offset moves (no batch of this member) is brought up by the periodic round', async () => {
    await store(2, 19);
    expect(await eventually(async () => ((await kafkaOffsets())[2] === 19 ? kafkaOffsets() : undefined), 20_000)).toEqual({ 0: 20, 1: 17, 2: 19 });
  });

  it('follows PostgreSQL back when the truth itself went back (a restored database)', async () => {
    await store(0, 12);
    expect(await eventually(async () => ((await kafkaOffsets())[0] === 12 ? kafkaOffsets() : undefined), 20_000)).toEqual({ 0: 12, 1: 17, 2: 19 });
  });

  it("the runner's own path — PostgreSQL, then Kafka through the sync — is left alone by the rounds", async () => {
    await store(1, 18);
    await sync.commit(consumer, topic, 1, 18);
    await new Promise((r) => setTimeout(r, 2_000)); // several rounds
    expect(await kafkaOffsets()).toEqual({ 0: 12, 1: 18, 2: 19 });
  });
});
