import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultSchemasDir, loadCatalog } from '../../src/events/catalog.js';
import { RegistryError, type SchemaStore } from '../../src/events/schema-store.js';
import { createEventSerde } from '../../src/events/serde.js';
import { inventoryUpcasters } from '../../src/events/upcasters/index.js';
import type { Item } from '../../src/source/attributes.js';
import { loadConnector, parseConnector } from '../../src/source/connector.js';
import { createRecordMapper, removeOriginOf, type MapResult, type RecordOrigin } from '../../src/source/mapping.js';

const catalog = loadCatalog(defaultSchemasDir());
const dir = path.resolve(import.meta.dirname, '../../connectors');

/** An in-memory registry: ids by subject and version (the serde's contract, no HTTP). */
function memoryStore(options: { failing?: boolean } = {}): SchemaStore {
  const ids = new Map<string, number>();
  const types = new Map<number, ReturnType<typeof catalog.latest>['type']>();
  const idOf = async (subject: string, version: number) => {
    if (options.failing) throw new RegistryError('registry unavailable', { status: 503 });
    const key = `${subject}@${version}`;
    if (!ids.has(key)) {
      const id = ids.size + 100;
      ids.set(key, id);
      const eventType = catalog.eventTypeOf(subject.slice(subject.indexOf('-') + 1))!;
      types.set(id, catalog.get(eventType, version).type);
    }
    return ids.get(key)!;
  };
  return {
    idOf,
    schemaById: async (id) => types.get(id)!,
    register: async () => 0,
    setCompatibility: async () => undefined,
    isCompatible: async () => ({ compatible: true, messages: [] }),
    subjects: async () => [],
    versions: async () => [],
    schemaOf: async () => ({ id: 0, schema: '' }),
  };
}

const origin = (eventName = 'INSERT'): RecordOrigin => ({
  table: 'journal',
  shardId: 'shardId-1',
  sequenceNumber: '4200000000000000001',
  eventName,
  approximateCreatedAt: 1_700_000_000_000,
});

function mapperFor(file: string, store = memoryStore()) {
  const connector = loadConnector(path.join(dir, file));
  const serde = createEventSerde({ topic: connector.topic, catalog, store, upcasters: inventoryUpcasters });
  return { mapper: createRecordMapper({ connector, serde, catalog, now: () => 1_800_000_000_000 }), serde, connector };
}

const received = { quantity: 5, lotNumber: 'LOT-1', supplierId: 'SUP-9', expiryDate: null };
function journalItem(payload: Buffer, extra: Item = {}): Item {
  return {
    pkey: { S: 'inventory-INV-1' },
    sequence_nr: { N: '7' },
    event_type: { S: 'StockReceived' },
    schema_version: { N: '2' },
    payload: { B: payload },
    written_at: { N: '1700000000123' },
    event_id: { S: 'e-1' },
    correlation_id: { S: 'c-1' },
    ...extra,
  };
}
const metadata = { eventId: 'e-1', persistenceId: 'inventory-INV-1', sequenceNr: 7, occurredAt: 1_700_000_000_000, correlationId: 'c-1', causationId: null };

function relayed(r: MapResult) {
  if (r.kind !== 'relay') throw new Error(`expected relay, got ${JSON.stringify(r)}`);
  return r;
}

describe('stream record → Kafka message', () => {
  it('passes an Avro payload through in Confluent wire format, keyed by persistence id, with the envelope headers', async () => {
    const { mapper, serde } = mapperFor('journal.json');
    const payload = catalog.get('StockReceived', 2).type.toBuffer({ metadata, ...received });
    const r = relayed(await mapper.map(journalItem(payload), origin()));
    expect(r.message.topic).toBe('inventory.events');
    expect(r.message.key).toBe('inventory-INV-1');
    expect(r.message.value[0]).toBe(0);
    expect(r.message.value.subarray(5)).toEqual(payload);
    expect(r.message.headers).toEqual({
      event_type: 'StockReceived',
      schema_version: '2',
      written_schema_version: '2',
      persistence_id: 'inventory-INV-1',
      sequence_nr: '7',
      source_written_at: '1700000000123',
      cdc_relayed_at: '1800000000000',
      correlation_id: 'c-1',
      causation_id: '',
      shard_id: 'shardId-1',
      stream_sequence_number: '4200000000000000001',
    });
    expect((await serde.decode(r.message.value)).event).toEqual({ type: 'StockReceived', data: { metadata, ...received } });
  });

  it('upcasts an older version to the latest before producing: a reader with the latest schema reads the upcast values', async () => {
    const { mapper } = mapperFor('journal.json');
    const shippedV1 = catalog.get('StockShipped', 1).type.toBuffer({ metadata, quantityCases: 4, unitsPerCase: 12, orderId: 'O-1' });
    const shipped = relayed(await mapper.map(journalItem(shippedV1, { event_type: { S: 'StockShipped' }, schema_version: { N: '1' } }), origin()));
    expect(shipped.message.headers).toMatchObject({ schema_version: '2', written_schema_version: '1', sequence_nr: '7' });
    expect(shipped.message.key).toBe('inventory-INV-1');
    // What a consumer outside this codebase does: the latest schema as reader, plain Avro, no upcaster.
    expect(catalog.latest('StockShipped').type.fromBuffer(shipped.message.value.subarray(5))).toEqual({ metadata, quantity: 48, orderId: 'O-1' });

    const adjustedV1 = catalog.get('StockAdjusted', 1).type.toBuffer({ metadata, amount: -3, reasonCode: 3 });
    const adjusted = relayed(await mapper.map(journalItem(adjustedV1, { event_type: { S: 'StockAdjusted' }, schema_version: { N: '1' } }), origin()));
    expect(catalog.latest('StockAdjusted').type.fromBuffer(adjusted.message.value.subarray(5))).toEqual({ metadata, quantityDelta: -3, reason: 'LOSS', note: null });

    // Resolution-only steps are brought to the latest too (StockReceived v1 → v2: optional fields null).
    const receivedV1 = catalog.get('StockReceived', 1).type.toBuffer({ metadata, quantity: 5, lotNumber: 'LOT-1' });
    const rec = relayed(await mapper.map(journalItem(receivedV1, { schema_version: { N: '1' } }), origin()));
    expect(rec.message.headers).toMatchObject({ schema_version: '2', written_schema_version: '1' });
    expect(catalog.latest('StockReceived').type.fromBuffer(rec.message.value.subarray(5))).toEqual({ metadata, quantity: 5, lotNumber: 'LOT-1', supplierId: null, expiryDate: null });
  });

  it('an upcast is deterministic (same bytes on a re-relay) and an upcast the latest schema refuses is dead-lettered', async () => {
    const { mapper, serde } = mapperFor('journal.json');
    const shippedV1 = catalog.get('StockShipped', 1).type.toBuffer({ metadata, quantityCases: 4, unitsPerCase: 12, orderId: 'O-1' });
    const item = journalItem(shippedV1, { event_type: { S: 'StockShipped' }, schema_version: { N: '1' } });
    const a = relayed(await mapper.map(item, origin()));
    const b = relayed(await mapper.map(item, origin()));
    expect(b.message.value).toEqual(a.message.value);
    // The in-repo consumers' decode of an already-latest record is the identity (writer = latest).
    expect((await serde.decode(a.message.value)).writerVersion).toBe(2);
    const overflow = catalog.get('StockShipped', 1).type.toBuffer({ metadata, quantityCases: 2 ** 30, unitsPerCase: 4, orderId: 'O-1' });
    const r = await mapper.map(journalItem(overflow, { event_type: { S: 'StockShipped' }, schema_version: { N: '1' } }), origin());
    expect(r).toMatchObject({ kind: 'dead-letter', code: 'UPCAST_INVALID' });
  });

  it('dead-letters a corrupt Avro payload with the reason and position in headers', async () => {
    const { mapper } = mapperFor('journal.json');
    const r = await mapper.map(journalItem(Buffer.from([1, 2, 3])), origin());
    expect(r.kind).toBe('dead-letter');
    if (r.kind !== 'dead-letter') return;
    expect(r.message.topic).toBe('inventory.events.dlq.cdc-bridge');
    expect(r.message.key).toBe('inventory-INV-1');
    expect(r.message.headers).toMatchObject({ error_code: 'CORRUPT_PAYLOAD', table: 'journal', shard_id: 'shardId-1', stream_sequence_number: '4200000000000000001' });
    expect(JSON.parse(r.message.value.toString()).pkey).toEqual({ S: 'inventory-INV-1' });
  });

  it('dead-letters missing attributes and unknown event types', async () => {
    const { mapper } = mapperFor('journal.json');
    const payload = catalog.get('StockReceived', 2).type.toBuffer({ metadata, ...received });
    const noSeq = journalItem(payload);
    delete noSeq.sequence_nr;
    expect(await mapper.map(noSeq, origin())).toMatchObject({ kind: 'dead-letter', code: 'BAD_NUMBER' });
    expect(await mapper.map(journalItem(payload, { event_type: { S: 'Nope' } }), origin())).toMatchObject({ kind: 'dead-letter', code: 'UNKNOWN_EVENT_TYPE' });
    expect(await mapper.map(undefined, origin())).toMatchObject({ kind: 'dead-letter', code: 'NO_NEW_IMAGE' });
  });

  it('ignores MODIFY and REMOVE by default (counted by the caller)', async () => {
    const { mapper } = mapperFor('journal.json');
    expect(await mapper.map(journalItem(Buffer.alloc(0)), origin('MODIFY'))).toEqual({ kind: 'filtered', reason: 'MODIFY' });
    expect(await mapper.map(undefined, origin('REMOVE'))).toEqual({ kind: 'filtered', reason: 'REMOVE:user' });
  });

  describe('REMOVE by who deleted the item', () => {
    const ttl = { Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' };
    const removeOf = (userIdentity?: RecordOrigin['userIdentity']): RecordOrigin => ({
      ...origin('REMOVE'),
      keys: { aggregate_id: { S: 'inventory-INV-4' }, version: { N: '3' } },
      ...(userIdentity ? { userIdentity } : {}),
    });
    const seed004 = (remove: unknown) => {
      const { connector, serde } = mapperFor('seed004-events.json');
      const c = parseConnector({ ...connector, modifyRemovePolicy: { modify: 'ignore', remove } });
      return createRecordMapper({ connector: c, serde, catalog, now: () => 1_800_000_000_000 });
    };

    it('tells a TTL expiry (the DynamoDB service principal) from a user delete', () => {
      expect(removeOriginOf(ttl)).toBe('ttl');
      expect(removeOriginOf({ Type: 'Service', PrincipalId: 'lambda.amazonaws.com' })).toBe('user');
      expect(removeOriginOf({ Type: 'User', PrincipalId: 'dynamodb.amazonaws.com' })).toBe('user');
      expect(removeOriginOf(undefined)).toBe('user');
    });

    it('relay: a removal record keyed by the persistence id, its keys as JSON, the origin in a header', async () => {
      const r = await seed004('relay').map(undefined, removeOf(ttl));
      expect(r.kind).toBe('removal');
      if (r.kind !== 'removal') return;
      expect(r.message.key).toBe('inventory-INV-4');
      expect(r.message.headers).toMatchObject({ cdc_operation: 'REMOVE', remove_origin: 'ttl', persistence_id: 'inventory-INV-4', sequence_nr: '3', content_type: 'application/json' });
      expect(JSON.parse(r.message.value!.toString())).toEqual({ operation: 'REMOVE', origin: 'ttl', keys: { aggregate_id: { S: 'inventory-INV-4' }, version: { N: '3' } } });
    });

    it('tombstone: null value, same key and headers; the policy can differ per origin', async () => {
      const m = seed004({ ttl: 'ignore', user: 'tombstone' });
      const user = await m.map(undefined, removeOf());
      expect(user).toMatchObject({ kind: 'removal', origin: 'user', message: { key: 'inventory-INV-4', value: null, headers: { cdc_operation: 'REMOVE', remove_origin: 'user' } } });
      expect(await m.map(undefined, removeOf(ttl))).toEqual({ kind: 'filtered', reason: 'REMOVE:ttl' });
    });

    it('dead-letter keeps the origin; keys without the persistence id cannot be relayed and are dead-lettered', async () => {
      const d = await seed004({ ttl: 'dead-letter', user: 'relay' }).map(undefined, removeOf(ttl));
      expect(d).toMatchObject({ kind: 'dead-letter', code: 'UNEXPECTED_REMOVE', message: { headers: { remove_origin: 'ttl' } } });
      const noId = await seed004('relay').map(undefined, { ...origin('REMOVE'), keys: { other: { S: 'x' } } });
      expect(noId).toMatchObject({ kind: 'dead-letter', code: 'REMOVE_WITHOUT_ID' });
    });

    it('the connector validates the policy', () => {
      const { connector } = mapperFor('seed004-events.json');
      expect(() => parseConnector({ ...connector, modifyRemovePolicy: { remove: 'delete' } })).toThrow(/modifyRemovePolicy/);
      expect(() => parseConnector({ ...connector, modifyRemovePolicy: { remove: { ttl: 'relay', robot: 'relay' } } })).toThrow(/modifyRemovePolicy/);
      expect(parseConnector({ ...connector, modifyRemovePolicy: { remove: 'tombstone' } }).modifyRemovePolicy.remove).toEqual({ ttl: 'tombstone', user: 'tombstone' });
    });
  });

  it('throws (does not dead-letter) when the registry is unavailable: the page is retried', async () => {
    const { mapper } = mapperFor('journal.json', memoryStore({ failing: true }));
    const payload = catalog.get('StockReceived', 2).type.toBuffer({ metadata, ...received });
    await expect(mapper.map(journalItem(payload), origin())).rejects.toBeInstanceOf(RegistryError);
  });

  it('seed 004: validates JSON `data` against the latest schema, fills metadata, encodes Avro', async () => {
    const { mapper, serde } = mapperFor('seed004-events.json');
    const item: Item = {
      aggregate_id: { S: 'inventory-INV-4' },
      version: { N: '3' },
      aggregate_type: { S: 'Inventory' },
      event_type: { S: 'StockReceived' },
      data: { M: { quantity: { N: '5' }, lotNumber: { S: 'LOT-1' }, supplierId: { S: 'SUP-9' }, expiryDate: { NULL: true } } },
      created_at: { S: '2026-11-20T10:00:00.000Z' },
      gsi1pk: { S: 'EVENTS' },
    };
    const r = relayed(await mapper.map(item, origin()));
    expect(r.message.headers).toMatchObject({ schema_version: '2', sequence_nr: '3', source_written_at: String(Date.parse('2026-11-20T10:00:00.000Z')) });
    const decoded = await serde.decode(r.message.value);
    expect(decoded.writerVersion).toBe(2);
    expect(r.message.headers.written_schema_version).toBe('2');
    expect(decoded.event.data).toMatchObject({ ...received, metadata: { persistenceId: 'inventory-INV-4', sequenceNr: 3, occurredAt: Date.parse('2026-11-20T10:00:00.000Z'), causationId: null } });
    // No event id attribute: a stable id derived from the journal position (same on every relay).
    const again = relayed(await mapper.map(item, origin()));
    expect((await serde.decode(again.message.value)).event.data.metadata).toEqual(decoded.event.data.metadata);
  });

  it('seed 004: JSON stored as a string works too; a payload that violates the schema is dead-lettered', async () => {
    const { mapper } = mapperFor('seed004-events.json');
    const item = (data: unknown): Item => ({
      aggregate_id: { S: 'inventory-INV-4' },
      version: { N: '1' },
      event_type: { S: 'StockReceived' },
      data: { S: JSON.stringify(data) },
      created_at: { S: '2026-11-20T10:00:00.000Z' },
    });
    expect((await mapper.map(item(received), origin())).kind).toBe('relay');
    const bad = await mapper.map(item({ ...received, quantity: 'five' }), origin());
    expect(bad).toMatchObject({ kind: 'dead-letter', code: 'SCHEMA_VALIDATION' });
    expect(await mapper.map({ ...item(received), data: { S: '{not json' } }, origin())).toMatchObject({ kind: 'dead-letter', code: 'BAD_JSON' });
  });

  it('seed 002: persistence id from pk + sk (version suffix stripped), MODIFY relayed', async () => {
    const { mapper } = mapperFor('seed002-events.json');
    const item: Item = {
      pk: { S: 'TENANT001#INVENTORY' },
      sk: { S: 'INVENTORY#INV-2@4' },
      version: { N: '4' },
      type: { S: 'StockReserved' },
      data: { M: { quantity: { N: '2' }, orderId: { S: 'O-1' }, customerId: { S: 'C-1' } } },
      createdAt: { S: '2024-01-01T10:00:00Z' },
      createdBy: { S: 'user-123' },
    };
    const r = relayed(await mapper.map(item, origin('MODIFY')));
    expect(r.message.key).toBe('TENANT001#INVENTORY#INVENTORY#INV-2');
    expect(r.sequenceNr).toBe(4);
  });
});
