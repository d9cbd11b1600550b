import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import avro from 'avsc';

/**
 * The inventory oracle: what the read model, the movement history and the
 * views must hold, computed from the journal's raw items with NO code from
 * src/. Payloads are decoded with avsc straight from the .avsc files under
 * schemas/ (not through the product's serde or catalog), and the effect of
 * each event type at each schema version — stock deltas, movement type and
 * quantity, the v1 → v2 conversions — is written out below, restated from the
 * schemas' docs, so that a wrong `stockDelta`, `movementOf` or upcaster in
 * src/ shows as a difference instead of being folded the same wrong way on
 * both sides.
 *
 * A schema version the table does not know throws: a new version must be
 * described here before any test can pass against it.
 */

/** The journal item fields the oracle reads (structurally a journal record). */
export interface RawJournalEvent {
  persistenceId: string;
  sequenceNr: number;
  eventType: string;
  schemaVersion: number;
  payload: Buffer;
}

type Payload = Record<string, unknown>;

/** What one event does, at the version it was written. */
export interface OracleEffect {
  onHand: number;
  reserved: number;
  movementType: string;
  /** The quantity the movement history and the daily windows record. */
  quantity: number;
  /** The event in its latest shape, without metadata (the movement's `detail`). */
  latest: Payload;
}

const SCHEMAS_DIR = path.resolve(import.meta.dirname, '../../schemas/inventory');

/** StockAdjusted v1 `reasonCode` (schema doc: "1 count correction, 2 damage, 3 loss, 4 found, 5 expiry"). */
const V1_REASON_CODES: Record<number, string> = { 1: 'COUNT_CORRECTION', 2: 'DAMAGE', 3: 'LOSS', 4: 'FOUND', 5: 'EXPIRY' };

const int = (p: Payload, field: string): number => {
  const v = p[field];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`oracle: field ${field} is not an integer: ${JSON.stringify(v)}`);
  return v;
};

/**
 * The rules, one entry per event type and schema version. Every number a
 * test compares against comes from here.
 */
const EFFECTS: Record<string, (p: Payload) => OracleEffect> = {
  'InventoryCreated v1': (p) => ({
    onHand: 0, reserved: 0, movementType: 'CREATED', quantity: 0,
    latest: pick(p, ['inventoryId', 'productId', 'warehouseId', 'zoneId', 'productStorageCondition', 'zoneType']),
  }),
  // v2 added supplierId and expiryDate (both default null); quantity is units in both.
  'StockReceived v1': (p) => ({
    onHand: int(p, 'quantity'), reserved: 0, movementType: 'RECEIPT', quantity: int(p, 'quantity'),
    latest: { quantity: p.quantity, lotNumber: p.lotNumber, supplierId: null, expiryDate: null },
  }),
  'StockReceived v2': (p) => ({
    onHand: int(p, 'quantity'), reserved: 0, movementType: 'RECEIPT', quantity: int(p, 'quantity'),
    latest: pick(p, ['quantity', 'lotNumber', 'supplierId', 'expiryDate']),
  }),
  'StockReserved v1': (p) => ({
    onHand: 0, reserved: int(p, 'quantity'), movementType: 'RESERVATION', quantity: int(p, 'quantity'),
    latest: pick(p, ['quantity', 'orderId', 'customerId']),
  }),
  'StockReleased v1': (p) => ({
    onHand: 0, reserved: -int(p, 'quantity'), movementType: 'RELEASE', quantity: int(p, 'quantity'),
    latest: pick(p, ['quantity', 'orderId', 'reason']),
  }),
  // v1 counted cases: units = quantityCases × unitsPerCase. Shipping takes reserved units off the shelf.
  'StockShipped v1': (p) => {
    const units = int(p, 'quantityCases') * int(p, 'unitsPerCase');
    return { onHand: -units, reserved: -units, movementType: 'SHIPMENT', quantity: units, latest: { quantity: units, orderId: p.orderId } };
  },
  'StockShipped v2': (p) => ({
    onHand: -int(p, 'quantity'), reserved: -int(p, 'quantity'), movementType: 'SHIPMENT', quantity: int(p, 'quantity'),
    latest: pick(p, ['quantity', 'orderId']),
  }),
  // v1: `amount` (signed) and a numeric reason code; v2: `quantityDelta` and an enum. The movement records the signed delta.
  'StockAdjusted v1': (p) => ({
    onHand: int(p, 'amount'), reserved: 0, movementType: 'ADJUSTMENT', quantity: int(p, 'amount'),
    latest: { quantityDelta: p.amount, reason: V1_REASON_CODES[int(p, 'reasonCode')] ?? 'UNKNOWN', note: null },
  }),
  'StockAdjusted v2': (p) => ({
    onHand: int(p, 'quantityDelta'), reserved: 0, movementType: 'ADJUSTMENT', quantity: int(p, 'quantityDelta'),
    latest: pick(p, ['quantityDelta', 'reason', 'note']),
  }),
  // Recorded on both inventories: OUT leaves the source zone, IN arrives in the destination.
  'ZoneTransferred v1': (p) => {
    const q = int(p, 'quantity');
    const out = p.direction === 'OUT';
    if (!out && p.direction !== 'IN') throw new Error(`oracle: ZoneTransferred direction ${String(p.direction)}`);
    return {
      onHand: out ? -q : q, reserved: 0, movementType: out ? 'TRANSFER_OUT' : 'TRANSFER_IN', quantity: q,
      latest: pick(p, ['quantity', 'direction', 'transferId', 'fromZoneId', 'toZoneId', 'counterpartInventoryId']),
    };
  },
  // A refused movement: recorded, no stock moves.
  'StorageConditionViolated v1': (p) => ({
    onHand: 0, reserved: 0, movementType: 'VIOLATION', quantity: int(p, 'attemptedQuantity'),
    latest: pick(p, ['attemptedQuantity', 'attemptedMovement', 'productStorageCondition', 'zoneType']),
  }),
};

function pick(p: Payload, fields: string[]): Payload {
  return Object.fromEntries(fields.map((f) => [f, p[f]]));
}

/** Every `<EventType> v<N>` with a schema file. */
export function schemaVersions(): string[] {
  return readdirSync(SCHEMAS_DIR)
    .map((f) => /^(\w+)\.v(\d+)\.avsc$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]} v${m[2]}`)
    .sort();
}

/** The event types and versions the oracle describes (a test checks they equal schemaVersions()). */
export const describedVersions = () => Object.keys(EFFECTS).sort();

const types = new Map<string, avro.Type>();
function typeOf(eventType: string, version: number): avro.Type {
  const key = `${eventType} v${version}`;
  let t = types.get(key);
  if (!t) {
    t = avro.Type.forSchema(JSON.parse(readFileSync(path.join(SCHEMAS_DIR, `${eventType}.v${version}.avsc`), 'utf8')) as avro.Schema);
    types.set(key, t);
  }
  return t;
}

/** Decodes a journal payload (Avro binary at the version it was written) with the schema file of that version. */
export function decodePayload(eventType: string, version: number, payload: Buffer): Payload {
  return typeOf(eventType, version).fromBuffer(payload) as Payload;
}

/** Encodes a payload at a version, for literal test cases of old bytes. */
export function encodePayload(eventType: string, version: number, value: Payload): Buffer {
  return typeOf(eventType, version).toBuffer(value);
}

/** The effect of one event given its type, version and decoded payload. */
export function effectOf(eventType: string, version: number, payload: Payload): OracleEffect {
  const rule = EFFECTS[`${eventType} v${version}`];
  if (!rule) throw new Error(`oracle: no rule for ${eventType} v${version}; describe it in test/helpers/oracle.ts`);
  return rule(payload);
}

/** The latest schema version of an event type (the version in-memory events of the current shape are at). */
export function latestVersion(eventType: string): number {
  const vs = schemaVersions().filter((k) => k.startsWith(`${eventType} v`)).map((k) => Number(k.split(' v')[1]));
  if (vs.length === 0) throw new Error(`oracle: no schema for ${eventType}`);
  return Math.max(...vs);
}

/** One journal event as the oracle sees it. */
export interface OracleEvent {
  persistenceId: string;
  sequenceNr: number;
  eventType: string;
  schemaVersion: number;
  eventId: string;
  occurredAt: number;
  correlationId: string;
  causationId: string | null;
  effect: OracleEffect;
}

export interface OracleMovement extends OracleEvent {
  warehouseId: string;
  zoneId: string;
  onHandBefore: number;
  onHandAfter: number;
  reservedBefore: number;
  reservedAfter: number;
}

export interface OracleInventory {
  persistenceId: string;
  inventoryId: string;
  productId: string;
  warehouseId: string;
  zoneId: string;
  productStorageCondition: string;
  zoneType: string;
  onHand: number;
  reserved: number;
  violations: number;
  sequenceNr: number;
}

export function decodeJournalEvent(r: RawJournalEvent): OracleEvent {
  const p = decodePayload(r.eventType, r.schemaVersion, r.payload);
  const md = p.metadata as { eventId: string; persistenceId: string; sequenceNr: number; occurredAt: number; correlationId: string; causationId: string | null };
  if (md.persistenceId !== r.persistenceId || md.sequenceNr !== r.sequenceNr) {
    throw new Error(`oracle: ${r.persistenceId} seq ${r.sequenceNr} carries metadata of ${md.persistenceId} seq ${md.sequenceNr}`);
  }
  return {
    persistenceId: r.persistenceId, sequenceNr: r.sequenceNr, eventType: r.eventType, schemaVersion: r.schemaVersion,
    eventId: md.eventId, occurredAt: md.occurredAt, correlationId: md.correlationId, causationId: md.causationId,
    effect: effectOf(r.eventType, r.schemaVersion, p),
  };
}

/**
 * Folds decoded events per persistence id in sequence order (each sequence
 * number once: the journal has no duplicates, a redelivery is not a new
 * event). Throws on a gap or on stock that would go negative — the journal
 * never holds either, so either means the oracle's rules are wrong.
 */
export function foldEvents(events: OracleEvent[]): { inventories: Map<string, OracleInventory>; movements: OracleMovement[] } {
  const byId = new Map<string, Map<number, OracleEvent>>();
  for (const e of events) {
    const m = byId.get(e.persistenceId) ?? new Map<number, OracleEvent>();
    m.set(e.sequenceNr, e);
    byId.set(e.persistenceId, m);
  }
  const inventories = new Map<string, OracleInventory>();
  const movements: OracleMovement[] = [];
  for (const [pid, bySeq] of [...byId].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const seqs = [...bySeq.keys()].sort((a, b) => a - b);
    let inv: OracleInventory | undefined;
    for (const [i, seq] of seqs.entries()) {
      if (seq !== i + 1) throw new Error(`oracle: ${pid} has a gap before seq ${seq}`);
      const e = bySeq.get(seq)!;
      if (e.eventType === 'InventoryCreated') {
        if (inv) throw new Error(`oracle: ${pid} created twice`);
        const c = e.effect.latest as Record<string, string>;
        inv = {
          persistenceId: pid, inventoryId: c.inventoryId!, productId: c.productId!, warehouseId: c.warehouseId!, zoneId: c.zoneId!,
          productStorageCondition: c.productStorageCondition!, zoneType: c.zoneType!, onHand: 0, reserved: 0, violations: 0, sequenceNr: 0,
        };
      }
      if (!inv) throw new Error(`oracle: ${pid} seq ${seq} (${e.eventType}) before its InventoryCreated`);
      const onHand = inv.onHand + e.effect.onHand;
      const reserved = inv.reserved + e.effect.reserved;
      if (onHand < 0 || reserved < 0 || reserved > onHand) {
        throw new Error(`oracle: ${pid} seq ${seq} (${e.eventType} v${e.schemaVersion}) gives on hand ${onHand}, reserved ${reserved}`);
      }
      movements.push({
        ...e, warehouseId: inv.warehouseId, zoneId: inv.zoneId,
        onHandBefore: inv.onHand, onHandAfter: onHand, reservedBefore: inv.reserved, reservedAfter: reserved,
      });
      inv.onHand = onHand;
      inv.reserved = reserved;
      if (e.eventType === 'StorageConditionViolated') inv.violations++;
      inv.sequenceNr = seq;
    }
    if (inv) inventories.set(pid, inv);
  }
  return { inventories, movements };
}

/** The oracle over raw journal items: decode every payload from its bytes, then fold. */
export function oracleOfJournal(records: readonly RawJournalEvent[]) {
  return foldEvents(records.map(decodeJournalEvent));
}

/**
 * Expected inventories per persistence id from raw journal items — the
 * independent replacement of folding with the product's `evolve`.
 */
export function foldJournal(records: readonly RawJournalEvent[]): Map<string, OracleInventory> {
  return oracleOfJournal(records).inventories;
}

/**
 * An in-memory event of the current shape (`{ type, data }`, metadata in
 * data) as the oracle sees it: written at the latest schema version of its type.
 */
export function oracleEventOfLatest(e: { type: string; data: object }): OracleEvent {
  const data = e.data as Payload & { metadata: { eventId: string; persistenceId: string; sequenceNr: number; occurredAt: number; correlationId: string; causationId: string | null } };
  const md = data.metadata;
  const version = latestVersion(e.type);
  return {
    persistenceId: md.persistenceId, sequenceNr: md.sequenceNr, eventType: e.type, schemaVersion: version,
    eventId: md.eventId, occurredAt: md.occurredAt, correlationId: md.correlationId, causationId: md.causationId,
    effect: effectOf(e.type, version, data),
  };
}
