import { DomainError } from '../shared/errors.js';
import type {
  AdjustmentReason,
  InventoryEvent,
  StorageCondition,
} from '../events/generated/inventory.js';

/**
 * The Inventory aggregate (product × warehouse × zone) as pure functions:
 * `decide(state, command)` returns the events a command produces or throws a
 * DomainError; `evolve(state, event)` folds one event. The same `evolve` is
 * the reference fold that tests compare every read model against.
 *
 * Invariants: on hand ≥ 0, reserved ≥ 0, reserved ≤ on hand (so available =
 * on hand − reserved ≥ 0); stock only enters a zone whose type matches the
 * product's storage condition — a mismatch is recorded as
 * StorageConditionViolated, never silently allowed.
 */
export interface InventoryState {
  persistenceId: string;
  created: boolean;
  inventoryId: string;
  productId: string;
  warehouseId: string;
  zoneId: string;
  productStorageCondition: StorageCondition;
  zoneType: StorageCondition;
  onHand: number;
  reserved: number;
  sequenceNr: number;
}

export type EventPayload<T extends InventoryEvent['type']> = Omit<Extract<InventoryEvent, { type: T }>['data'], 'metadata'>;
/** An event as decided, before the journal gives it metadata. */
export type NewEvent = { [T in InventoryEvent['type']]: { type: T; data: EventPayload<T> } }[InventoryEvent['type']];

export type InventoryCommand =
  | {
      kind: 'create';
      inventoryId: string;
      productId: string;
      warehouseId: string;
      zoneId: string;
      productStorageCondition: StorageCondition;
      zoneType: StorageCondition;
    }
  | { kind: 'receive'; quantity: number; lotNumber: string; supplierId: string | null; expiryDate: number | null }
  | { kind: 'reserve'; quantity: number; orderId: string; customerId: string }
  | { kind: 'release'; quantity: number; orderId: string; reason: string }
  | { kind: 'ship'; quantity: number; orderId: string }
  | { kind: 'adjust'; delta: number; reason: AdjustmentReason; note: string | null }
  | { kind: 'transferOut'; quantity: number; transferId: string; toZoneId: string; counterpartInventoryId: string }
  | { kind: 'transferIn'; quantity: number; transferId: string; fromZoneId: string; counterpartInventoryId: string };

export const persistenceIdOf = (inventoryId: string) => `inventory-${inventoryId}`;

export function initialState(persistenceId: string): InventoryState {
  return {
    persistenceId,
    created: false,
    inventoryId: '',
    productId: '',
    warehouseId: '',
    zoneId: '',
    productStorageCondition: 'AMBIENT',
    zoneType: 'AMBIENT',
    onHand: 0,
    reserved: 0,
    sequenceNr: 0,
  };
}

export const available = (s: InventoryState) => s.onHand - s.reserved;

function positive(q: number, what: string) {
  if (!Number.isInteger(q) || q <= 0) throw new DomainError('INVALID_QUANTITY', `${what} must be a positive integer, got ${q}`);
}

export function decide(state: InventoryState, command: InventoryCommand): NewEvent[] {
  if (command.kind === 'create') {
    if (state.created) throw new DomainError('ALREADY_CREATED', `${state.persistenceId} already exists`);
    const { kind: _kind, ...data } = command;
    return [{ type: 'InventoryCreated', data }];
  }
  if (!state.created) throw new DomainError('NOT_CREATED', `${state.persistenceId} does not exist`);
  const violation = (attemptedQuantity: number, attemptedMovement: string): NewEvent => ({
    type: 'StorageConditionViolated',
    data: {
      attemptedQuantity,
      attemptedMovement,
      productStorageCondition: state.productStorageCondition,
      zoneType: state.zoneType,
    },
  });
  const conditionOk = state.productStorageCondition === state.zoneType;
  switch (command.kind) {
    case 'receive':
      positive(command.quantity, 'received quantity');
      if (!conditionOk) return [violation(command.quantity, 'RECEIPT')];
      return [
        {
          type: 'StockReceived',
          data: {
            quantity: command.quantity,
            lotNumber: command.lotNumber,
            supplierId: command.supplierId,
            expiryDate: command.expiryDate,
          },
        },
      ];
    case 'reserve':
      positive(command.quantity, 'reserved quantity');
      if (command.quantity > available(state)) {
        throw new DomainError(
          'INSUFFICIENT_AVAILABLE',
          `cannot reserve ${command.quantity}: only ${available(state)} available in ${state.persistenceId}`,
        );
      }
      return [{ type: 'StockReserved', data: { quantity: command.quantity, orderId: command.orderId, customerId: command.customerId } }];
    case 'release':
      positive(command.quantity, 'released quantity');
      if (command.quantity > state.reserved) {
        throw new DomainError('INSUFFICIENT_RESERVED', `cannot release ${command.quantity}: only ${state.reserved} reserved`);
      }
      return [{ type: 'StockReleased', data: { quantity: command.quantity, orderId: command.orderId, reason: command.reason } }];
    case 'ship':
      positive(command.quantity, 'shipped quantity');
      if (command.quantity > state.reserved) {
        throw new DomainError('INSUFFICIENT_RESERVED', `cannot ship ${command.quantity}: only ${state.reserved} reserved`);
      }
      return [{ type: 'StockShipped', data: { quantity: command.quantity, orderId: command.orderId } }];
    case 'adjust':
      if (!Number.isInteger(command.delta) || command.delta === 0) {
        throw new DomainError('INVALID_QUANTITY', `adjustment must be a non-zero integer, got ${command.delta}`);
      }
      if (state.onHand + command.delta < state.reserved) {
        throw new DomainError(
          'NEGATIVE_STOCK',
          `adjustment ${command.delta} would leave on hand ${state.onHand + command.delta} below reserved ${state.reserved}`,
        );
      }
      return [{ type: 'StockAdjusted', data: { quantityDelta: command.delta, reason: command.reason, note: command.note } }];
    case 'transferOut':
      positive(command.quantity, 'transferred quantity');
      if (command.quantity > available(state)) {
        throw new DomainError('INSUFFICIENT_AVAILABLE', `cannot transfer ${command.quantity}: only ${available(state)} available`);
      }
      return [
        {
          type: 'ZoneTransferred',
          data: {
            quantity: command.quantity,
            direction: 'OUT',
            transferId: command.transferId,
            fromZoneId: state.zoneId,
            toZoneId: command.toZoneId,
            counterpartInventoryId: command.counterpartInventoryId,
          },
        },
      ];
    case 'transferIn':
      positive(command.quantity, 'transferred quantity');
      if (!conditionOk) return [violation(command.quantity, 'TRANSFER_IN')];
      return [
        {
          type: 'ZoneTransferred',
          data: {
            quantity: command.quantity,
            direction: 'IN',
            transferId: command.transferId,
            fromZoneId: command.fromZoneId,
            toZoneId: state.zoneId,
            counterpartInventoryId: command.counterpartInventoryId,
          },
        },
      ];
  }
}

/** Signed on-hand and reserved change of one event: the single definition every view uses. */
export function stockDelta(event: InventoryEvent | NewEvent): { onHand: number; reserved: number } {
  switch (event.type) {
    case 'StockReceived':
      return { onHand: event.data.quantity, reserved: 0 };
    case 'StockReserved':
      return { onHand: 0, reserved: event.data.quantity };
    case 'StockReleased':
      return { onHand: 0, reserved: -event.data.quantity };
    case 'StockShipped':
      return { onHand: -event.data.quantity, reserved: -event.data.quantity };
    case 'StockAdjusted':
      return { onHand: event.data.quantityDelta, reserved: 0 };
    case 'ZoneTransferred':
      return { onHand: event.data.direction === 'OUT' ? -event.data.quantity : event.data.quantity, reserved: 0 };
    case 'InventoryCreated':
    case 'StorageConditionViolated':
      return { onHand: 0, reserved: 0 };
  }
}

const MOVEMENT_TYPE: Record<InventoryEvent['type'], string> = {
  InventoryCreated: 'CREATED',
  StockReceived: 'RECEIPT',
  StockReserved: 'RESERVATION',
  StockReleased: 'RELEASE',
  StockShipped: 'SHIPMENT',
  StockAdjusted: 'ADJUSTMENT',
  ZoneTransferred: 'TRANSFER',
  StorageConditionViolated: 'VIOLATION',
};

/**
 * Movement type and quantity of one event as the audit log and the daily
 * movement windows record it: the single definition both views share.
 */
export function movementOf(e: InventoryEvent | NewEvent): { movementType: string; quantity: number } {
  switch (e.type) {
    case 'InventoryCreated':
      return { movementType: MOVEMENT_TYPE[e.type], quantity: 0 };
    case 'StockAdjusted':
      return { movementType: MOVEMENT_TYPE[e.type], quantity: e.data.quantityDelta };
    case 'StorageConditionViolated':
      return { movementType: MOVEMENT_TYPE[e.type], quantity: e.data.attemptedQuantity };
    case 'ZoneTransferred':
      return { movementType: `TRANSFER_${e.data.direction}`, quantity: e.data.quantity };
    default:
      return { movementType: MOVEMENT_TYPE[e.type], quantity: e.data.quantity };
  }
}

export function evolve(state: InventoryState, event: InventoryEvent | NewEvent, sequenceNr = state.sequenceNr + 1): InventoryState {
  if (event.type === 'InventoryCreated') {
    const d = event.data;
    return {
      ...state,
      created: true,
      inventoryId: d.inventoryId,
      productId: d.productId,
      warehouseId: d.warehouseId,
      zoneId: d.zoneId,
      productStorageCondition: d.productStorageCondition,
      zoneType: d.zoneType,
      sequenceNr,
    };
  }
  const delta = stockDelta(event);
  return { ...state, onHand: state.onHand + delta.onHand, reserved: state.reserved + delta.reserved, sequenceNr };
}

export function fold(persistenceId: string, events: readonly (InventoryEvent | NewEvent)[]): InventoryState {
  return events.reduce((s, e) => evolve(s, e), initialState(persistenceId));
}
