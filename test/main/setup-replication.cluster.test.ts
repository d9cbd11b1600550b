import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMasterData, loadMasterData } from '../../src/command/master-data.js';
import { migrate } from '../../src/db/migrate.js';
import { untilClusterWhole } from '../helpers/kafka-cluster.js';
import { spawnCli, writeConnector } from '../helpers/process.js';
import { createTestDatabase, kafka, uniqueName, type TestDatabase } from '../helpers/stack.js';

/**
 * Safe defaults on a cluster (issue 27): `setup` as the quick start runs it,
 * without TOPIC_REPLICATION_FACTOR, on a 3-broker stack, gives every topic it
 * creates the brokers' default replication factor (3 on the stack's
 * cluster), says so, and warns about nothing.
 */
describe('setup on 3 brokers without TOPIC_REPLICATION_FACTOR (real servers)', () => {
  let db: TestDatabase | undefined;
  const topic = uniqueName('setup-rf.events');
  beforeAll(async () => {
    // Another cluster test may have killed a broker just before: setup as users run it, on a whole cluster.
    const admin = kafka('setup-rf-whole').admin();
    await admin.connect();
    await untilClusterWhole(admin).finally(() => admin.disconnect());
  });
  afterAll(async () => {
    const admin = kafka('setup-rf').admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq.cdc-bridge`, `${topic}.checkpoints`] }).catch(() => undefined);
    await admin.disconnect();
    await db?.drop();
  });

  it('creates the event, DLQ and checkpoint topics with 3 replicas and prints it', async () => {
    db = await createTestDatabase('setup_rf');
    await migrate(db.pool, 'migrations');
    await loadMasterData(db.pool, generateMasterData());
    const setup = spawnCli(['setup'], {
      DATABASE_URL: db.url,
      CONNECTOR_FILE: writeConnector(uniqueName('setup-rf-journal'), topic),
      TOPIC_REPLICATION_FACTOR: '',
      LOG_LEVEL: 'warn',
    });
    expect(await setup.exited, setup.output()).toBe(0);
    const out = setup.output();
    for (const t of [topic, `${topic}.dlq.cdc-bridge`, `${topic}.checkpoints`]) {
      expect(out).toContain(`topic ${t}: replication factor 3`);
    }
    expect(out).not.toMatch(/fewer than 3|WARN/i);
    const admin = kafka('setup-rf').admin();
    await admin.connect();
    try {
      const md = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(md.topics[0]!.partitions.every((p) => p.replicas.length === 3)).toBe(true);
    } finally {
      await admin.disconnect();
    }
  });
});
