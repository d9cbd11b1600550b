import path from 'node:path';
import type { Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import { decide, evolve, initialState, persistenceIdOf, type InventoryCommand, type InventoryState } from '../../src/command/inventory.js';
import { asLatest, asLegacy } from '../../src/command/legacy-versions.js';
import { createJournal, itemOf, type Journal, type JournalRecord } from '../../src/command/journal.js';
import type { InventoryEvent } from '../../src/events/generated/inventory.js';
import type { EventSerde } from '../../src/events/serde.js';
import { createTopicsAndWait } from '../../src/log/topics.js';
import { loadConnector } from '../../src/source/connector.js';
import { createRecordMapper, type OutMessage, type RecordMapper } from '../../src/source/mapping.js';
import { migrate } from '../../src/db/migrate.js';
import { catalog, serdeFor, type AnyEvent } from './schemas.js';
import { createTestDatabase, dynamo, kafka, uniqueName } from './stack.js';

/**
 * The pipeline as consumer tests drive it: a journal with a known history,
 * the topic fed through the bridge's own record mapping, and a fixture with
 * everything a consumer group needs.
 */

// Files that build a topic's serde with the rest of the pipeline take it from here too.
export { serdeFor };

export async function journalFor(table: string): Promise<Journal> {
  const journal = createJournal({ ddb: dynamo(), table, catalog });
  await journal.ensureTable();
  return journal;
}

/**
 * Writes a small, deterministic history for `count` inventories through the
 * real aggregate (decide) and journal writer: creation, receipts, reservations,
 * shipments, adjustments, some at older schema versions.
 */
export async function writeHistory(journal: Journal, count: number, eventsPerInventory = 6, prefix = 'T'): Promise<JournalRecord[]> {
  const out: JournalRecord[] = [];
  // Aggregates are independent: write 4 at a time (DynamoDB Local serialises writes on one SQLite lock).
  const one = async (i: number) => {
    const inventoryId = `${prefix}-${String(i).padStart(5, '0')}`;
    const pid = persistenceIdOf(inventoryId);
    let state: InventoryState = initialState(pid);
    const commands: InventoryCommand[] = [
      { kind: 'create', inventoryId, productId: `P-${i}`, warehouseId: 'WH-TYO', zoneId: 'WH-TYO-AMBIENT', productStorageCondition: 'AMBIENT', zoneType: 'AMBIENT' },
      { kind: 'receive', quantity: 120, lotNumber: `L${i}`, supplierId: null, expiryDate: null },
    ];
    for (let k = 2; k < eventsPerInventory; k++) {
      commands.push(
        k % 4 === 2
          ? { kind: 'reserve', quantity: 24, orderId: `O-${i}-${k}`, customerId: 'C-0001' }
          : k % 4 === 3
            ? { kind: 'ship', quantity: 24, orderId: `O-${i}-${k - 1}` }
            : k % 4 === 0
              ? { kind: 'adjust', delta: -1, reason: 'DAMAGE', note: null }
              : { kind: 'receive', quantity: 12, lotNumber: `L${i}-${k}`, supplierId: 'S-1', expiryDate: null },
      );
    }
    for (const cmd of commands) {
      const events = decide(state, cmd);
      // Every third inventory writes shipments and adjustments at v1, so upcasters run downstream.
      const legacy = i % 3 === 0;
      const recs = await journal.append({
        persistenceId: pid,
        expectedSequenceNr: state.sequenceNr,
        events: events.map((e) => (legacy ? asLegacy(e) : asLatest(e))),
      });
      for (const e of events) state = evolve(state, e);
      out.push(...recs);
    }
  };
  for (let i = 0; i < count; i += 4) {
    await Promise.all(Array.from({ length: Math.min(4, count - i) }, (_, k) => one(i + k)));
  }
  return out;
}

/** The shipped journal connector: the mapping the bridge applies to the journal's stream. */
const journalConnector = loadConnector(path.resolve(import.meta.dirname, '../../connectors/journal.json'));
const mappers = new Map<string, Promise<RecordMapper>>();
let streamPosition = 0;

/**
 * The Kafka message the bridge would write for a journal record: the
 * journal's item through the bridge's own mapper (value upcast to the latest
 * version, every header the bridge sets), as if read from a stream shard of
 * the journal table.
 */
export async function toMessage(serde: EventSerde<InventoryEvent>, r: JournalRecord): Promise<Omit<OutMessage, 'topic'>> {
  const topic = serde.topic;
  let mapper = mappers.get(topic);
  if (!mapper) {
    mapper = serdeFor<AnyEvent>(topic).then((s) =>
      createRecordMapper({ connector: { ...journalConnector, topic }, serde: s, catalog }),
    );
    mappers.set(topic, mapper);
  }
  const origin = { table: journalConnector.table, shardId: 'shardId-test-0001', sequenceNumber: String(++streamPosition).padStart(21, '0'), eventName: 'INSERT', approximateCreatedAt: r.writtenAt };
  const mapped = await (await mapper).map(itemOf(r), origin);
  if (mapped.kind !== 'relay') throw new Error(`the bridge would not relay ${r.persistenceId} seq ${r.sequenceNr}: ${'reason' in mapped ? mapped.reason : mapped.kind}`);
  const { topic: _topic, ...message } = mapped.message;
  return message;
}

export async function produceRecords(producer: Producer, serde: EventSerde<InventoryEvent>, topic: string, records: JournalRecord[]) {
  const messages = await Promise.all(records.map((r) => toMessage(serde, r)));
  for (let i = 0; i < messages.length; i += 500) {
    await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });
  }
}

/**
 * Per persistence id, what the read model must hold: the independent oracle's
 * fold of the raw journal items (test/helpers/oracle.ts; no code from src/).
 */
export { foldJournal } from './oracle.js';

export const freshRegistry = () => new Registry();

/** A random valid value of an Avro type (avsc types `random()` wrongly as returning a Type). */
export function randomValue(type: { random(): unknown }): Record<string, unknown> {
  return type.random() as Record<string, unknown>;
}

/**
 * What a consumer-group test needs: its own topic (created), journal table,
 * group id, database (migrated), serde (schemas registered) and a producer.
 */
export async function consumerFixture(name: string, partitions = 3) {
  const k = kafka(`${name}-test`);
  const topic = uniqueName(`${name}.events`);
  const table = uniqueName('journal');
  const groupId = uniqueName('inventory-projector');
  const admin = k.admin();
  await admin.connect();
  await createTopicsAndWait(admin, [{ topic, numPartitions: partitions }]);
  const producer = k.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const db = await createTestDatabase(name.replaceAll('-', '_'));
  await migrate(db.pool, 'migrations');
  const serde = await serdeFor(topic);
  const journal = await journalFor(table);
  return {
    kafka: k,
    admin,
    producer,
    topic,
    table,
    groupId,
    db,
    serde,
    journal,
    async close() {
      await producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      await db.drop();
    },
  };
}
