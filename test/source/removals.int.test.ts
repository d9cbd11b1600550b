import { DeleteItemCommand, DeleteTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { dynamo } from '../helpers/stack.js';
import { bridgeFor, createSeed004Table, prepareTopics, readTopic, testConnector } from './bridge-env.js';

/**
 * A delete in a generic layout (seed 004) through the real stream: the
 * REMOVE record carries no image, only keys, and says who deleted the item.
 * DynamoDB Local has no TTL process, so the TTL origin is covered by the
 * mapping's unit tests (test/source/mapping.unit.test.ts); here a user's
 * DeleteItem becomes a tombstone on the topic under the connector's policy.
 */
const ddb = dynamo();
const tables: string[] = [];
afterAll(async () => {
  for (const t of tables) {
    await ddb.send(new DeleteTableCommand({ TableName: t })).catch(() => undefined);
    await ddb.send(new DeleteTableCommand({ TableName: `${t}-leases` })).catch(() => undefined);
  }
});

describe('deletes that say why', () => {
  it("a user's DeleteItem becomes a tombstone keyed by the persistence id, with its origin in a header; TTL deletes stay ignored", async () => {
    const connector = testConnector('seed004-events.json', { modifyRemovePolicy: { modify: 'ignore', remove: { ttl: 'ignore', user: 'tombstone' } } });
    tables.push(connector.table);
    await createSeed004Table(connector.table);
    const serde = await prepareTopics(connector);
    const bridge = bridgeFor(connector, serde);
    await bridge.start();
    try {
      for (const v of [1, 2]) {
        await ddb.send(
          new PutItemCommand({
            TableName: connector.table,
            Item: {
              aggregate_id: { S: 'inventory-DEL' },
              version: { N: String(v) },
              event_type: { S: 'StockReceived' },
              data: { M: { quantity: { N: String(v) }, lotNumber: { S: `L${v}` } } },
              created_at: { S: new Date().toISOString() },
            },
          }),
        );
      }
      await ddb.send(new DeleteItemCommand({ TableName: connector.table, Key: { aggregate_id: { S: 'inventory-DEL' }, version: { N: '1' } } }));
      const messages = await readTopic(connector.topic, (m) => m.length >= 3);
      expect(messages.map((m) => m.headers.cdc_operation ?? 'event')).toEqual(['event', 'event', 'REMOVE']);
      const tombstone = messages[2]!;
      expect(tombstone.key).toBe('inventory-DEL');
      expect(tombstone.value.length).toBe(0);
      expect(tombstone.headers).toMatchObject({ remove_origin: 'user', persistence_id: 'inventory-DEL', sequence_nr: '1' });
    } finally {
      await bridge.stop();
    }
  });
});
