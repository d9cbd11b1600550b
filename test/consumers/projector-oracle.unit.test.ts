import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asLatest, asLegacy } from '../../src/command/legacy-versions.js';
import { DAY_MS } from '../../src/consumers/aggregators/daily-movements.js';
import { planInventory, type InventoryRow, type MovementRow, type PlannedEvent } from '../../src/consumers/projectors/inventory-plan.js';
import { defaultSchemasDir, loadCatalog } from '../../src/events/catalog.js';
import type { InventoryEvent } from '../../src/events/generated/inventory.js';
import { createVersionLadder } from '../../src/events/upcast.js';
import { inventoryUpcasters } from '../../src/events/upcasters/index.js';
import { planWorkload, type WorkloadStep } from '../helpers/inventory-workload.js';
import { decodeJournalEvent, encodePayload, foldEvents, latestVersion, type RawJournalEvent } from '../helpers/oracle.js';
import { emptyModel, masterData, referenceOf, runBatches, stockOf, withoutZeros } from './aggregators/view-model.js';

/**
 * The product's consumer path — decode raw journal bytes of any schema
 * version and upcast (src/events/upcast.ts), then the projector's and the
 * views' pure cores — against the independent oracle reading the same bytes
 * (test/helpers/oracle.ts). Nothing here folds with the product's own
 * stockDelta / movementOf / upcasters on the expected side.
 */
const ladder = createVersionLadder(loadCatalog(defaultSchemasDir('inventory')), inventoryUpcasters);
const decode = (r: RawJournalEvent) => ladder.decodeRaw<InventoryEvent>(r.eventType, r.schemaVersion, r.payload);

const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const steps = planWorkload({ master: masterData, inventories: 40, operations: 400, seed: 17, startTime: T0, spanMs: 3 * DAY_MS });
const appends = steps.flat();
const eventCount = appends.reduce((n, a) => n + a.events.length, 0);

/** The workload as journal items, each event at its older version where `legacy[i]` says so and one exists. */
function journalOf(workload: WorkloadStep[], legacy: (i: number) => boolean): RawJournalEvent[] {
  let i = 0;
  return workload.flat().flatMap((a) =>
    a.events.map((e, k) => {
      const written = legacy(i++) ? asLegacy(e) : asLatest(e);
      const version = written.version ?? latestVersion(e.type);
      const seq = a.expectedSequenceNr + 1 + k;
      const metadata = { eventId: `${a.persistenceId}#${seq}`, persistenceId: a.persistenceId, sequenceNr: seq, occurredAt: a.occurredAt, correlationId: a.correlationId, causationId: null };
      return { persistenceId: a.persistenceId, sequenceNr: seq, eventType: e.type, schemaVersion: version, payload: encodePayload(e.type, version, { metadata, ...written.data }) };
    }),
  );
}

/** The projector's pure core over the decoded stream cut into the given batches. */
function project(events: InventoryEvent[], cuts: number[]) {
  const rows = new Map<string, InventoryRow>();
  const movements: MovementRow[] = [];
  const bounds = [0, ...[...cuts].sort((a, b) => a - b), events.length];
  for (let b = 1; b < bounds.length; b++) {
    const ready = new Map<string, PlannedEvent[]>();
    for (const event of events.slice(bounds[b - 1], bounds[b])) {
      const pid = event.data.metadata.persistenceId;
      ready.set(pid, [...(ready.get(pid) ?? []), { event, sourceWrittenAt: undefined }]);
    }
    const plan = planInventory(rows, ready);
    expect(plan.rejected.map((r) => `${r.item.event.data.metadata.persistenceId}: ${r.message}`)).toEqual([]);
    for (const [pid, row] of plan.rows) rows.set(pid, row);
    movements.push(...plan.movements);
  }
  return { rows, movements };
}

function expectProjectionEqualsOracle(raw: RawJournalEvent[], cuts: number[]) {
  const oracle = foldEvents(raw.map(decodeJournalEvent));
  const { rows, movements } = project(raw.map(decode), cuts);
  // Named by inventory, so a failure says which one the product got wrong.
  expect(new Map([...rows].map(([pid, r]) => [pid, `on hand ${r.onHand}, reserved ${r.reserved}, last seq ${r.lastSequenceNr}, violations ${r.violations}`]))).toEqual(
    new Map([...oracle.inventories].map(([pid, s]) => [pid, `on hand ${s.onHand}, reserved ${s.reserved}, last seq ${s.sequenceNr}, violations ${s.violations}`])),
  );
  const sorted = (xs: string[]) => xs.sort();
  expect(sorted(movements.map((m) => `${m.persistenceId}#${m.sequenceNr} ${m.movementType} ${m.quantity} ${m.onHandBefore}→${m.onHandAfter} ${m.reservedBefore}→${m.reservedAfter} ${JSON.stringify(m.detail)}`))).toEqual(
    sorted(oracle.movements.map((m) => `${m.persistenceId}#${m.sequenceNr} ${m.effect.movementType} ${m.effect.quantity} ${m.onHandBefore}→${m.onHandAfter} ${m.reservedBefore}→${m.reservedAfter} ${JSON.stringify(m.effect.latest)}`)),
  );
}

describe('consumer path over raw journal bytes agrees with the independent oracle', () => {
  it('the workload has old versions to upcast and every event type', () => {
    const raw = journalOf(steps, () => true);
    const versions = new Set(raw.map((r) => `${r.eventType} v${r.schemaVersion}`));
    for (const v of ['StockShipped v1', 'StockAdjusted v1', 'ZoneTransferred v1', 'StorageConditionViolated v1', 'StockReleased v1']) expect(versions).toContain(v);
  });

  it('a literal history: 2 cases of 12 shipped at v1 leave 76 on hand of 100 received', () => {
    const pid = 'inventory-LIT-9';
    const md = (seq: number) => ({ eventId: `e${seq}`, persistenceId: pid, sequenceNr: seq, occurredAt: T0 + seq, correlationId: 'c', causationId: null });
    const raw: RawJournalEvent[] = [
      ['InventoryCreated', 1, { inventoryId: 'LIT-9', productId: 'P-000001', warehouseId: 'WH-OSA', zoneId: 'WH-OSA-AMBIENT', productStorageCondition: 'AMBIENT', zoneType: 'AMBIENT' }],
      ['StockReceived', 1, { quantity: 100, lotNumber: 'L' }],
      ['StockReserved', 1, { quantity: 30, orderId: 'O', customerId: 'C-0001' }],
      ['StockShipped', 1, { quantityCases: 2, unitsPerCase: 12, orderId: 'O' }],
      ['StockAdjusted', 1, { amount: -3, reasonCode: 3 }],
    ].map(([t, v, d], i) => ({ persistenceId: pid, sequenceNr: i + 1, eventType: t as string, schemaVersion: v as number, payload: encodePayload(t as string, v as number, { metadata: md(i + 1), ...(d as object) }) }));
    const { rows, movements } = project(raw.map(decode), []);
    expect(rows.get(pid), pid).toMatchObject({ onHand: 73, reserved: 6, lastSequenceNr: 5 });
    expect(movements.map((m) => [m.movementType, m.quantity, m.detail])).toEqual([
      ['CREATED', 0, { inventoryId: 'LIT-9', productId: 'P-000001', warehouseId: 'WH-OSA', zoneId: 'WH-OSA-AMBIENT', productStorageCondition: 'AMBIENT', zoneType: 'AMBIENT' }],
      ['RECEIPT', 100, { quantity: 100, lotNumber: 'L', supplierId: null, expiryDate: null }],
      ['RESERVATION', 30, { quantity: 30, orderId: 'O', customerId: 'C-0001' }],
      ['SHIPMENT', 24, { quantity: 24, orderId: 'O' }],
      ['ADJUSTMENT', -3, { quantityDelta: -3, reason: 'LOSS', note: null }],
    ]);
    expectProjectionEqualsOracle(raw, []);
  });

  it('property: the projector core equals the oracle for any mix of old and new versions and any batching', () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: eventCount, maxLength: eventCount }),
        fc.uniqueArray(fc.integer({ min: 1, max: eventCount - 1 }), { maxLength: 10 }),
        (legacy, cuts) => expectProjectionEqualsOracle(journalOf(steps, (i) => legacy[i]!), cuts),
      ),
      { numRuns: 30 },
    );
  }, 60_000);

  it('property: the views core equals the oracle for any mix of old and new versions and any batching', () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: eventCount, maxLength: eventCount }),
        fc.uniqueArray(fc.integer({ min: 1, max: eventCount - 1 }), { maxLength: 10 }),
        (legacy, cuts) => {
          const raw = journalOf(steps, (i) => legacy[i]!);
          const events = raw.map(decode);
          const bounds = [0, ...[...cuts].sort((a, b) => a - b), events.length];
          const db = runBatches(emptyModel(), bounds.slice(1).map((b, i) => events.slice(bounds[i], b)));
          const ref = referenceOf(raw.map(decodeJournalEvent));
          expect(stockOf(db.states)).toEqual(ref.states);
          expect(withoutZeros(db.zone)).toEqual(withoutZeros(ref.zone));
          expect(withoutZeros(db.category)).toEqual(withoutZeros(ref.category));
          expect(new Map([...db.daily].map(([k, v]) => [k, { eventCount: v.eventCount, quantity: v.quantity }]))).toEqual(ref.daily);
          expect(db.alerts.filter((a) => a.closedAt === null).map((a) => a.persistenceId).sort()).toEqual(ref.openAlerts);
        },
      ),
      { numRuns: 20 },
    );
  }, 60_000);
});
