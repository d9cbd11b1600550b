import type { PoolClient } from '../../db/db.js';
import type { InventoryEvent } from '../../events/generated/inventory.js';

/**
 * What one view of the `inventory-views` group is: a table, a pure plan over
 * the events the group applied in a batch, and a set-based write. The group
 * (inventory-views-plan.ts) keeps the per-inventory state, the invariants,
 * the sequence and the event-time watermark; each view only folds the steps
 * it is given — so a new view is a value in `inventoryViews`
 * (inventory-views.ts), with its migration, its plan and its writer.
 */

/** The group's own state of one inventory (inventory_view_state). */
export interface ViewState {
  persistenceId: string;
  inventoryId: string;
  productId: string;
  warehouseId: string;
  zoneId: string;
  category: string;
  storageCondition: string;
  onHand: number;
  reserved: number;
  alertOpen: boolean;
  lastSequenceNr: number;
}

/** One event the group applied, as each view sees it. Steps come in stream order. */
export interface ViewStep {
  event: InventoryEvent;
  /** The inventory after the event: its mapping (warehouse, zone, category, storage condition) and its stock. */
  state: ViewState;
  /** The event's stock change; inventoryCount is 1 for the creation, else 0. */
  delta: { onHand: number; reserved: number; inventoryCount: number };
  /** Its event-time window had closed when it arrived (see daily-movements.ts); stock changes apply all the same. */
  late: boolean;
  /** Whether it counts in its event-time window: on time, or late under the `correct` policy. */
  inWindow: boolean;
  /** The low-stock alert transition it caused (see low-stock-alerts.ts), and the zone's threshold (null: zone unknown). */
  alert: 'open' | 'close' | null;
  threshold: number | null;
}

/** A SQL view over a view's table: as fresh as its table, and re-pointed at the new table when a rebuild swaps it in. */
export interface DependentView {
  name: string;
  /** Runs in the swap's transaction, after the renames (a SQL view is bound to the table, not to its name). */
  recreate(tx: PoolClient): Promise<void>;
}

export interface InventoryView<C> {
  /** The live table; its view_freshness row has the same name. */
  readonly table: string;
  readonly dependents?: readonly DependentView[];
  /**
   * Pure: the view's row changes for one batch. Folding a stream in one batch
   * or cut into any consecutive batches must add up to the same rows.
   */
  plan(steps: readonly ViewStep[]): C;
  /** Writes `changes` into `table` (the live name or a rebuild's shadow) set-based, rows in key order. */
  write(tx: PoolClient, table: string, changes: C): Promise<void>;
}
