import { describe, expect, it } from 'vitest';
import { createEventSerde } from '../../src/events/serde.js';
import { UnknownSchemaIdError } from '../../src/events/schema-store.js';
import { syncSchemas } from '../../src/events/schema-sync.js';
import { inventoryUpcasters } from '../../src/events/upcasters/index.js';
import { randomValue } from '../helpers/pipeline.js';
import { catalog, schemaStore } from '../helpers/schemas.js';
import { uniqueName } from '../helpers/stack.js';

const metadata = { eventId: 'e-1', persistenceId: 'inventory-INV-1', sequenceNr: 7, occurredAt: 1_763_900_000_000, correlationId: 'corr', causationId: null };

describe('Avro serde against the real schema registry', () => {
  const topic = uniqueName('serde.events');
  const store = schemaStore();
  const serde = createEventSerde({ topic, catalog, store, upcasters: inventoryUpcasters });

  it('registers every version under TopicRecordNameStrategy subjects with BACKWARD compatibility, idempotently', async () => {
    const first = await syncSchemas(store, catalog, topic);
    expect(first.every((r) => r.action === 'registered')).toBe(true);
    expect(first.map((r) => r.subject)).toContain(`${topic}-inventory.events.StockShipped`);
    const again = await syncSchemas(store, catalog, topic);
    expect(again.every((r) => r.action === 'present')).toBe(true);
    expect(again.map((r) => r.id)).toEqual(first.map((r) => r.id));
    expect(await store.versions(`${topic}-inventory.events.StockShipped`)).toEqual([1, 2]);
  });

  it('many pipelines registering the same schemas under their own topics at once all succeed (Apicurio content race)', async () => {
    // Apicurio's SQL storage answers 409 "already exists" for a subject that does
    // not exist when the same schema text is registered concurrently elsewhere;
    // parallel test files and workers starting together hit it.
    const topics = Array.from({ length: 8 }, (_, i) => uniqueName(`serde-race-${i}.events`));
    const reports = await Promise.all(topics.map((t) => syncSchemas(schemaStore(), catalog, t)));
    for (const [i, report] of reports.entries()) {
      expect(report.every((r) => r.action === 'registered')).toBe(true);
      expect(await store.versions(`${topics[i]}-inventory.events.StockShipped`)).toEqual([1, 2]);
    }
  });

  it('the registry serves every schema byte-layout-identical to the file (field order kept), so any client decodes alike', async () => {
    for (const eventType of catalog.eventTypes()) {
      for (const sv of catalog.versions(eventType)) {
        const id = await store.idOf(serde.subject(eventType), sv.version);
        const served = await store.schemaById(id);
        expect(served.fingerprint('sha256').toString('hex')).toBe(sv.fingerprint);
      }
    }
  });

  it('round-trips every event type and version in Confluent wire format, arriving at the latest version', async () => {
    for (const eventType of catalog.eventTypes()) {
      for (const sv of catalog.versions(eventType)) {
        const value = { ...randomValue(sv.type), metadata };
        const bytes = await serde.encode(eventType, sv.version, value);
        expect(bytes[0]).toBe(0);
        expect(bytes.readInt32BE(1)).toBe(await store.idOf(serde.subject(eventType), sv.version));
        const decoded = await serde.decode(bytes);
        expect(decoded.eventType).toBe(eventType);
        expect(decoded.writerVersion).toBe(sv.version);
        expect(catalog.latest(eventType).type.isValid(decoded.event.data)).toBe(true);
        if (sv.version === catalog.latest(eventType).version) expect(decoded.event.data).toEqual(value);
      }
    }
  });

  it('upcasts real v1 bytes: shipped cases become units, adjustment codes become reasons, added fields get defaults', async () => {
    const shipped = await serde.decode(await serde.encode('StockShipped', 1, { metadata, quantityCases: 4, unitsPerCase: 6, orderId: 'O-9' }));
    expect(shipped.event.data).toEqual({ metadata, quantity: 24, orderId: 'O-9' });
    const adjusted = await serde.decode(await serde.encode('StockAdjusted', 1, { metadata, amount: -3, reasonCode: 3 }));
    expect(adjusted.event.data).toEqual({ metadata, quantityDelta: -3, reason: 'LOSS', note: null });
    const received = await serde.decode(await serde.encode('StockReceived', 1, { metadata, quantity: 5, lotNumber: 'L-1' }));
    expect(received.event.data).toEqual({ metadata, quantity: 5, lotNumber: 'L-1', supplierId: null, expiryDate: null });
  });

  it('gives typed errors for corrupt bytes, unknown schema ids and invalid data', async () => {
    await expect(serde.decode(Buffer.from('plain text'))).rejects.toMatchObject({ code: 'CORRUPT_PAYLOAD' });
    await expect(serde.decode(Buffer.from([0, 0x7f, 0, 0, 1, 2]))).rejects.toBeInstanceOf(UnknownSchemaIdError);
    const good = await serde.encode('StockReserved', 1, { metadata, quantity: 1, orderId: 'O', customerId: 'C' });
    await expect(serde.decode(good.subarray(0, good.length - 2))).rejects.toMatchObject({ code: 'CORRUPT_PAYLOAD' });
    await expect(serde.encode('StockReserved', 1, { metadata, quantity: 'one' })).rejects.toMatchObject({ code: 'SCHEMA_VALIDATION' });
  });

  it('the registry itself rejects an incompatible change (a required field without default)', async () => {
    const subject = serde.subject('StockReserved');
    const latest = catalog.latest('StockReserved').schema as { fields: unknown[] };
    const incompatible = { ...latest, fields: [...latest.fields, { name: 'warehouseShift', type: 'string' }] };
    expect((await store.isCompatible(subject, incompatible as never)).compatible).toBe(false);
    await expect(store.register(subject, incompatible as never)).rejects.toMatchObject({ code: 'REGISTRY' });
    const compatible = { ...latest, fields: [...latest.fields, { name: 'warehouseShift', type: ['null', 'string'], default: null }] };
    expect((await store.isCompatible(subject, compatible as never)).compatible).toBe(true);
  });
});
