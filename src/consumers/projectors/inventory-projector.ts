import type { JournalReader } from '../source-journal.js';
import type { InventoryEvent } from '../../events/generated/inventory.js';
import type { EventSerde } from '../../events/serde.js';
import type { Logger } from '../../shared/logger.js';
import { copyRows } from '../../db/copy.js';
import { withTransaction, type Pool, type PoolClient } from '../../db/db.js';
import type { DeadLetterQueue } from '../dead-letter.js';
import type { ConsumerHandler } from '../handler.js';
import { isInventoryEvent, latestVersions } from '../inventory-stream.js';
import { createOrderedHandler, type Candidate } from '../ordered-handler.js';
import { planInventory, type InventoryPlan, type InventoryRow, type MovementRow } from './inventory-plan.js';

export const INVENTORY_PROJECTOR_GROUP = 'inventory-projector';

/** Table names, so that a rebuild can project into shadow tables. */
export interface InventoryTables {
  inventories: string;
  movements: string;
}
export const liveInventoryTables: InventoryTables = { inventories: 'inventories', movements: 'inventory_movements' };

export interface InventoryProjectorOptions {
  journal: JournalReader;
  serde: EventSerde<InventoryEvent>;
  pool: Pool;
  logger: Logger;
  groupId?: string;
  tables?: InventoryTables;
  /** Attempts to read a missing range from the journal before parking (the journal may lag the topic). */
  gapAttempts?: number;
  gapDelayMs?: number;
  /** Lets maintain() dead-letter an event refused after it was parked; without it, the next batch of its id does. */
  deadLetterQueue?: DeadLetterQueue;
  onParkedChange?: (parkedIds: number) => void;
}

/**
 * The inventory projector (`inventory-projector` group): the `inventories`
 * read model and the append-only `inventory_movements` audit log, on the
 * ordered-handler core (sequence gate, gap repair from the journal, parking,
 * rejections to the DLQ: see ordered-handler.ts). An event for an inventory
 * never created is refused at once (INVARIANT_NOT_CREATED); a gap before an
 * id's first event waits parked until the journal has it. Each batch is one
 * set of COPYs and set-based statements inside the runner's transaction.
 */
export interface InventoryProjector extends ConsumerHandler<InventoryEvent> {
  /**
   * Integrity repair (seed 000 strategy 3): applies the journal's events of
   * `persistenceId` after the read model's last sequence number, up to
   * `toSequenceNr`, in one transaction. Movements past that number (left by a
   * row restored from an older backup, or deleted, behind the projector's
   * back) are dropped first, so the journal re-derives them. Returns how many
   * events were applied.
   */
  repair(persistenceId: string, toSequenceNr: number): Promise<number>;
}

export function createInventoryProjector(options: InventoryProjectorOptions): InventoryProjector {
  const { groupId = INVENTORY_PROJECTOR_GROUP, tables = liveInventoryTables } = options;

  async function load(tx: PoolClient, pids: string[]) {
    // Serialise per inventory with maintain() and other instances (advisory locks in a stable order).
    await tx.query(
      'select pg_advisory_xact_lock(h) from (select hashtextextended(p, 0) h from unnest($1::text[]) p order by 1) s',
      [pids],
    );
    const { rows } = await tx.query<{
      persistence_id: string; inventory_id: string; product_id: string; warehouse_id: string; zone_id: string;
      product_storage_condition: string; zone_type: string; on_hand: number; reserved: number; violations: number;
      last_sequence_nr: number; last_event_at: Date; last_source_written_at: Date | null;
    }>(`select * from ${tables.inventories} where persistence_id = any($1)`, [pids]);
    const current = new Map<string, InventoryRow>();
    for (const r of rows) {
      current.set(r.persistence_id, {
        persistenceId: r.persistence_id,
        inventoryId: r.inventory_id,
        productId: r.product_id,
        warehouseId: r.warehouse_id,
        zoneId: r.zone_id,
        productStorageCondition: r.product_storage_condition,
        zoneType: r.zone_type,
        onHand: r.on_hand,
        reserved: r.reserved,
        violations: r.violations,
        lastSequenceNr: r.last_sequence_nr,
        lastEventAt: r.last_event_at.getTime(),
        lastSourceWrittenAt: r.last_source_written_at?.getTime() ?? null,
      });
    }
    return { last: new Map([...current].map(([pid, r]) => [pid, r.lastSequenceNr])), state: current };
  }

  async function writeMovements(tx: PoolClient, movements: MovementRow[]) {
    if (movements.length === 0) return;
    // Straight into the audit log: the sequence gate guarantees each (id, seq) once,
    // and the primary key would fail the batch rather than double a movement.
    await copyRows(
      tx,
      `copy ${tables.movements} (persistence_id, sequence_nr, event_id, event_type, movement_type, quantity,
        on_hand_before, on_hand_after, reserved_before, reserved_after, warehouse_id, zone_id, event_time,
        correlation_id, causation_id, detail) from stdin`,
      movements,
      (m) => [
        m.persistenceId, m.sequenceNr, m.eventId, m.eventType, m.movementType, m.quantity,
        m.onHandBefore, m.onHandAfter, m.reservedBefore, m.reservedAfter, m.warehouseId, m.zoneId,
        new Date(m.eventTime), m.correlationId, m.causationId, JSON.stringify(m.detail),
      ],
    );
  }

  /** One statement (the rows as arrays, unnested): a staging table cost four round trips (create, truncate, COPY, insert). */
  async function upsertRows(tx: PoolClient, rows: InventoryRow[]) {
    if (rows.length === 0) return;
    const col = <T>(f: (r: InventoryRow) => T) => rows.map(f);
    const at = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    await tx.query(
      `insert into ${tables.inventories} (persistence_id, inventory_id, product_id, warehouse_id, zone_id, product_storage_condition,
         zone_type, on_hand, reserved, violations, last_sequence_nr, last_event_at, last_source_written_at, updated_at)
       select *, now() from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
         $8::int[], $9::int[], $10::int[], $11::bigint[], $12::timestamptz[], $13::timestamptz[])
       on conflict (persistence_id) do update set
         on_hand = excluded.on_hand, reserved = excluded.reserved, violations = excluded.violations,
         last_sequence_nr = excluded.last_sequence_nr, last_event_at = excluded.last_event_at,
         last_source_written_at = excluded.last_source_written_at, updated_at = now()`,
      [
        col((r) => r.persistenceId), col((r) => r.inventoryId), col((r) => r.productId), col((r) => r.warehouseId), col((r) => r.zoneId),
        col((r) => r.productStorageCondition), col((r) => r.zoneType), col((r) => r.onHand), col((r) => r.reserved), col((r) => r.violations),
        col((r) => r.lastSequenceNr), col((r) => at(r.lastEventAt)), col((r) => at(r.lastSourceWrittenAt)),
      ],
    );
  }

  type Planned = InventoryPlan<Candidate<InventoryEvent>>;
  const core = createOrderedHandler<InventoryEvent, Map<string, InventoryRow>, Planned>({
    ...options,
    groupId,
    latestVersions,
    view: {
      views: [tables.inventories, tables.movements],
      canHandle: isInventoryEvent,
      load,
      plan: async (_tx, current, ready) => planInventory(current, ready),
      async write(tx, planned) {
        await writeMovements(tx, planned.movements);
        await upsertRows(tx, [...planned.rows.values()]);
      },
    },
  });
  async function repair(pid: string, toSequenceNr: number): Promise<number> {
    // Under the id's lock (the one load() takes), so a live batch of this id sees the movements and the row agree.
    await withTransaction(options.pool, async (tx) => {
      await tx.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [pid]);
      await tx.query(
        `delete from ${tables.movements} where persistence_id = $1
           and sequence_nr > coalesce((select last_sequence_nr from ${tables.inventories} where persistence_id = $1), 0)`,
        [pid],
      );
    });
    return core.catchUp(pid, toSequenceNr);
  }

  return { ...core, repair };
}
