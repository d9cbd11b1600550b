import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { createJournal } from '../../src/command/journal.js';
import { createEventSerde, subjectFor } from '../../src/events/serde.js';
import { inventoryUpcasters } from '../../src/events/upcasters/index.js';
import { BridgeRefusedError, ensureTopics } from '../../src/source/bridge.js';
import type { ConnectorConfig } from '../../src/source/connector.js';
import { schemaStore, type AnyEvent } from '../helpers/schemas.js';
import { config, dynamo, kafka } from '../helpers/stack.js';
import { appendReceived, bridgeFor, catalog, positions, readTopic, testConnector } from './bridge-env.js';

/**
 * Issue 27, part 5: a bridge given a connector for a topic no `setup` ran for
 * (topics created by `run`, as at every start, but no schema subjects) used to
 * log RecordMappingError at WARN forever and relay nothing. It now registers
 * the topic's subjects on start, with the sync `setup` uses, and relays; a
 * registry that refuses (here a subject holding another schema) stops it with
 * one error naming the command that fixes it.
 */
const tables: string[] = [];
afterAll(async () => {
  for (const t of tables) await dynamo().send(new DeleteTableCommand({ TableName: t })).catch(() => undefined);
  for (const t of tables) await dynamo().send(new DeleteTableCommand({ TableName: `${t}-leases` })).catch(() => undefined);
});

/** A journal table with a stream and the connector's topics; no schema sync (what `run` prepares by itself). */
async function freshConnector(): Promise<{ connector: ConnectorConfig; journal: ReturnType<typeof createJournal> }> {
  const connector = testConnector('journal.json');
  tables.push(connector.table);
  const journal = createJournal({ ddb: dynamo(), table: connector.table, catalog });
  await journal.ensureTable();
  const admin = kafka('fresh-admin').admin();
  await admin.connect();
  try {
    await ensureTopics(admin, connector, { replicationFactor: config.topicReplicationFactor });
  } finally {
    await admin.disconnect();
  }
  return { connector, journal };
}

const serdeOf = (topic: string) => createEventSerde<AnyEvent>({ topic, catalog, store: schemaStore(), upcasters: inventoryUpcasters });

describe('bridge on a topic whose schemas are not registered', () => {
  it('registers the subjects on start (every version of every event type) and relays', async () => {
    const { connector, journal } = await freshConnector();
    const store = schemaStore();
    const subjects = catalog.eventTypes().map((t) => subjectFor(connector.topic, catalog.fullName(t)));
    expect(await store.versions(subjects[0]!).catch(() => 'none')).toBe('none');

    const bridge = bridgeFor(connector, serdeOf(connector.topic));
    await bridge.start();
    try {
      for (const subject of subjects) {
        const eventType = catalog.eventTypes()[subjects.indexOf(subject)]!;
        expect(await store.versions(subject), subject).toEqual(catalog.versions(eventType).map((v) => v.version));
      }
      const id = 'inventory-FRESH-1';
      for (let seq = 1; seq <= 3; seq++) await appendReceived(journal, id, seq);
      const messages = await readTopic(connector.topic, (m) => m.length >= 3);
      expect(positions(messages).get(id)).toEqual([1, 2, 3]);
    } finally {
      await bridge.stop();
    }
  });

  it('a second bridge on the same topic finds the subjects present and registers nothing (idempotent)', async () => {
    const { connector } = await freshConnector();
    const store = schemaStore();
    const subjects = catalog.eventTypes().map((t) => subjectFor(connector.topic, catalog.fullName(t)));
    // One after the other, as `setup` then `run` or a restart: Apicurio turns one schema registered
    // twice at the same moment into two versions, so simultaneous first starts are not claimed here.
    for (const workerId of ['fresh-a', 'fresh-b']) {
      const bridge = bridgeFor(connector, serdeOf(connector.topic), { workerId });
      try {
        await bridge.start();
      } finally {
        await bridge.stop();
      }
    }
    for (const [i, subject] of subjects.entries()) {
      expect(await store.versions(subject), subject).toEqual(catalog.versions(catalog.eventTypes()[i]!).map((v) => v.version));
    }
  });

  it('refuses to start, naming the fix, when the registry holds another schema under a subject of the topic', async () => {
    const { connector } = await freshConnector();
    const eventType = catalog.eventTypes()[0]!;
    const fullName = catalog.fullName(eventType);
    const dot = fullName.lastIndexOf('.');
    const subject = subjectFor(connector.topic, fullName);
    await schemaStore().register(subject, {
      type: 'record',
      name: fullName.slice(dot + 1),
      namespace: fullName.slice(0, dot),
      fields: [{ name: 'somethingElse', type: 'string' }],
    });

    const bridge = bridgeFor(connector, serdeOf(connector.topic));
    const err = await bridge.start().catch((e: unknown) => e);
    await bridge.stop();
    expect(err).toBeInstanceOf(BridgeRefusedError);
    expect((err as Error).message).toContain(subject);
    expect((err as Error).message).toContain(`Fix: npm run cli -- schemas register --topic ${connector.topic}`);
  });
});
