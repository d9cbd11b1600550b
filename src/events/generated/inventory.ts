// Generated from schemas/ by `npm run gen:types`. Do not edit by hand.

export type AdjustmentReason = 'COUNT_CORRECTION' | 'DAMAGE' | 'LOSS' | 'FOUND' | 'EXPIRY' | 'UNKNOWN';

/** Envelope carried by every event: identity, position in its aggregate's journal, and tracing ids. */
export interface EventMetadata {
  /** UUID of this event; stable across relays and replays. */
  eventId: string;
  /** Aggregate id in the journal, e.g. inventory-INV-000123. Also the Kafka key. */
  persistenceId: string;
  /** Position in the aggregate's journal, 1-based and gapless. */
  sequenceNr: number;
  /** When the command that produced the event was decided (event time). */
  occurredAt: number;
  /** Id shared by every event of one business flow. */
  correlationId: string;
  /** Id of the message that caused this event, if any. */
  causationId: null | string;
}

/** Latest version of InventoryCreated. */
export type InventoryCreated = InventoryCreatedV1;

/** An inventory (product x warehouse x zone) came into existence, empty. (schema version 1) */
export interface InventoryCreatedV1 {
  metadata: EventMetadata;
  inventoryId: string;
  productId: string;
  warehouseId: string;
  zoneId: string;
  /** Storage condition the product requires, as known when the inventory was created. */
  productStorageCondition: StorageCondition;
  /** Temperature type of the zone. */
  zoneType: StorageCondition;
}

/** Latest version of StockAdjusted. */
export type StockAdjusted = StockAdjustedV2;

/** Stock was corrected outside the normal flow (stocktake, damage). v1 used a numeric reason code. (schema version 1) */
export interface StockAdjustedV1 {
  metadata: EventMetadata;
  /** Signed change of on-hand units. */
  amount: number;
  /** 1 count correction, 2 damage, 3 loss, 4 found, 5 expiry. */
  reasonCode: number;
}

/** Stock was corrected outside the normal flow (stocktake, damage). v2 renamed amount and made the reason an enum (upcaster v1->v2). (schema version 2) */
export interface StockAdjustedV2 {
  metadata: EventMetadata;
  /** Signed change of on-hand units; on hand never goes below zero. */
  quantityDelta: number;
  reason: AdjustmentReason;
  note: null | string;
}

/** Latest version of StockReceived. */
export type StockReceived = StockReceivedV2;

/** Goods were received into the inventory's zone. (schema version 1) */
export interface StockReceivedV1 {
  metadata: EventMetadata;
  /** Units received, > 0. */
  quantity: number;
  lotNumber: string;
}

/** Goods were received into the inventory's zone. (schema version 2) */
export interface StockReceivedV2 {
  metadata: EventMetadata;
  /** Units received, > 0. */
  quantity: number;
  lotNumber: string;
  /** Added in v2; null for receipts recorded before. */
  supplierId: null | string;
  /** Added in v2 (days since epoch). */
  expiryDate: null | number;
}

/** Latest version of StockReleased. */
export type StockReleased = StockReleasedV1;

/** A reservation was released without shipping. (schema version 1) */
export interface StockReleasedV1 {
  metadata: EventMetadata;
  /** Units released, > 0. */
  quantity: number;
  orderId: string;
  reason: string;
}

/** Latest version of StockReserved. */
export type StockReserved = StockReservedV1;

/** Units were reserved for an order; reserved <= on hand. (schema version 1) */
export interface StockReservedV1 {
  metadata: EventMetadata;
  /** Units reserved, > 0. */
  quantity: number;
  orderId: string;
  customerId: string;
}

/** Latest version of StockShipped. */
export type StockShipped = StockShippedV2;

/** Reserved units left the warehouse. v1 counted cases. (schema version 1) */
export interface StockShippedV1 {
  metadata: EventMetadata;
  /** Cases shipped. */
  quantityCases: number;
  /** Units in one case. */
  unitsPerCase: number;
  orderId: string;
}

/** Reserved units left the warehouse. v2 counts units (upcaster v1->v2: quantity = quantityCases * unitsPerCase). (schema version 2) */
export interface StockShippedV2 {
  metadata: EventMetadata;
  /** Units shipped, > 0. */
  quantity: number;
  orderId: string;
}

export type StorageCondition = 'AMBIENT' | 'CHILLED' | 'FROZEN';

/** Latest version of StorageConditionViolated. */
export type StorageConditionViolated = StorageConditionViolatedV1;

/** A movement into a zone whose type does not match the product's storage condition was refused and recorded. (schema version 1) */
export interface StorageConditionViolatedV1 {
  metadata: EventMetadata;
  attemptedQuantity: number;
  /** RECEIPT or TRANSFER_IN. */
  attemptedMovement: string;
  productStorageCondition: StorageCondition;
  zoneType: StorageCondition;
}

export type TransferDirection = 'OUT' | 'IN';

/** Latest version of ZoneTransferred. */
export type ZoneTransferred = ZoneTransferredV1;

/** Units moved between two zones of one warehouse; recorded on both inventories (OUT on the source, IN on the destination). (schema version 1) */
export interface ZoneTransferredV1 {
  metadata: EventMetadata;
  /** Units moved, > 0. */
  quantity: number;
  direction: TransferDirection;
  transferId: string;
  fromZoneId: string;
  toZoneId: string;
  /** The inventory on the other side of the transfer. */
  counterpartInventoryId: string;
}

/** Latest schema version per event type. */
export const latestVersions = {
  InventoryCreated: 1,
  StockAdjusted: 2,
  StockReceived: 2,
  StockReleased: 1,
  StockReserved: 1,
  StockShipped: 2,
  StorageConditionViolated: 1,
  ZoneTransferred: 1,
} as const;

export type InventoryEventType = keyof typeof latestVersions;

/** What handlers receive: the event upcast to its latest version. */
export type InventoryEvent =
  | { type: 'InventoryCreated'; data: InventoryCreatedV1 }
  | { type: 'StockAdjusted'; data: StockAdjustedV2 }
  | { type: 'StockReceived'; data: StockReceivedV2 }
  | { type: 'StockReleased'; data: StockReleasedV1 }
  | { type: 'StockReserved'; data: StockReservedV1 }
  | { type: 'StockShipped'; data: StockShippedV2 }
  | { type: 'StorageConditionViolated'; data: StorageConditionViolatedV1 }
  | { type: 'ZoneTransferred'; data: ZoneTransferredV1 };
