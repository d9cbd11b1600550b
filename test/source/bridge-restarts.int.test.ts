import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import type { Admin, Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBridge } from '../../src/source/bridge.js';
import { isInternalGroup } from '../../src/shared/group-names.js';
import { dynamo, dynamoStreams, eventually, kafka, testLogger } from '../helpers/stack.js';
import { appendReceived, catalog, journalConnector } from './bridge-env.js';
import { schemaStore } from '../helpers/schemas.js';

const ddb = dynamo();
const tables: string[] = [];

/** The Kafka client the bridge gets, noting every consumer group it joins (it still talks to the real broker). */
function recordingGroups(k: Kafka, groups: string[]): Kafka {
  return new Proxy(k, {
    get(target, prop) {
      if (prop === 'consumer') {
        return (config: Parameters<Kafka['consumer']>[0]) => {
          groups.push(config.groupId);
          return target.consumer(config);
        };
      }
      const v: unknown = Reflect.get(target, prop);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

const listGroups = async (admin: Admin) => (await admin.listGroups()).groups.map((g) => g.groupId);

describe('bridge restarts leave no consumer group behind', () => {
  let admin: Admin;
  beforeAll(async () => {
    admin = kafka('group-count').admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.disconnect();
    for (const t of tables) await ddb.send(new DeleteTableCommand({ TableName: t })).catch(() => undefined);
    for (const t of tables) await ddb.send(new DeleteTableCommand({ TableName: `${t}-leases` })).catch(() => undefined);
  });

  it('four starts and stops read the checkpoint topic each time and leave the group list as it was', async () => {
    const { connector, journal, serde } = await journalConnector(tables);
    const ids = ['inventory-GRP-1', 'inventory-GRP-2'];
    const before = new Set(await listGroups(admin));
    const used: string[] = [];
    const checkpointRecords = async () =>
      (await admin.fetchTopicOffsets(connector.checkpointTopic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);

    for (let round = 1; round <= 4; round++) {
      const readsBefore = used.length;
      const bridge = createBridge({
        connector,
        kafka: recordingGroups(kafka(`restart-${round}`), used),
        ddb,
        streams: dynamoStreams(),
        serde,
        schemaStore: schemaStore(),
        logger: testLogger,
        metrics: new Registry(),
        catalog,
        workerId: 'restart-test',
      });
      await bridge.start();
      try {
        for (const id of ids) await appendReceived(journal, id, round);
        // Relayed and checkpointed; from the second start on, the checkpoints were read back through a group.
        await eventually(async () => ((await checkpointRecords()) > 0 ? true : undefined), 60_000);
        if (round > 1) await eventually(async () => (used.length > readsBefore ? true : undefined), 60_000);
      } finally {
        await bridge.stop();
      }
      // The reader deletes its group before its read returns, so none is left even for a moment.
      const present = (await listGroups(admin)).filter((g) => used.includes(g));
      expect(present, `round ${round}`).toEqual([]);
    }

    expect(used.length).toBeGreaterThanOrEqual(3);
    for (const g of used) expect(isInternalGroup(g), g).toBe(true);
    // Every group the bridge joined is gone; nothing of ours was added to the cluster's group list.
    // (Other test files share the broker, so only groups that are ours, or internal and idle, are compared.)
    const left = await eventually(async () => {
      const now = await listGroups(admin);
      const described = (await admin.describeGroups(now.filter((g) => !before.has(g) && isInternalGroup(g)))).groups;
      const idle = described.filter((g) => g.state === 'Empty').map((g) => g.groupId);
      const ours = now.filter((g) => used.includes(g));
      return ours.length === 0 && idle.length === 0 ? { total: now.length, ours, idle } : undefined;
    }, 30_000, 500);
    expect(left.ours).toEqual([]);
    expect(left.idle).toEqual([]);
  });
});
