import type { Journal } from '../../command/journal.js';
import type { InventoryEvent } from '../../events/generated/inventory.js';
import type { EventSerde } from '../../events/serde.js';
import type { Logger } from '../../shared/logger.js';
import { copyRows } from '../../views/copy.js';
import { withTransaction, type Pool, type PoolClient } from '../../views/db.js';
import { recordAppliedTimes, type ConsumedEvent, type ConsumerHandler, type HandlerOutcome } from '../handler.js';
import { gateWithRepair, type Sequenced } from '../sequence-gate.js';
import { planInventory, type InventoryRow, type MovementRow } from './inventory-plan.js';

export const INVENTORY_PROJECTOR_GROUP = 'inventory-projector';

/** Table names, so that a rebuild can project into shadow tables. */
export interface InventoryTables {
  inventories: string;
  movements: string;
}
export const liveInventoryTables: InventoryTables = { inventories: 'inventories', movements: 'inventory_movements' };

/** A candidate event: from the topic (with its Kafka position) or from the journal (gap repair, parked). */
interface Candidate extends Sequenced {
  event: InventoryEvent;
  sourceWrittenAt: number | undefined;
  consumed?: ConsumedEvent<InventoryEvent>;
  origin: 'topic' | 'journal' | 'parked';
}

export interface InventoryProjectorOptions {
  journal: Journal;
  serde: EventSerde<InventoryEvent>;
  pool: Pool;
  logger: Logger;
  groupId?: string;
  tables?: InventoryTables;
  /** Attempts to read a missing range from the journal before parking (the journal may lag the topic). */
  gapAttempts?: number;
  gapDelayMs?: number;
  onParkedChange?: (parkedIds: number) => void;
}

/**
 * The inventory projector (`inventory-projector` group): the `inventories`
 * read model and the append-only `inventory_movements` audit log.
 *
 * Per persistence id it applies sequence numbers in order: duplicates are
 * skipped and counted; a gap is filled from the journal (Query by pkey) and
 * applied first; if the journal does not have the range yet, the id is
 * parked — its later events wait in `parked_events` while other ids flow —
 * and `maintain()` unparks it as soon as the range can be read. Each batch is
 * one set of COPYs and set-based statements inside the runner's transaction.
 */
export interface InventoryProjector extends ConsumerHandler<InventoryEvent> {
  /**
   * Integrity repair (seed 000 strategy 3): applies the journal's events of
   * `persistenceId` after the read model's last sequence number, up to
   * `toSequenceNr`, in one transaction. Returns how many were applied.
   */
  repair(persistenceId: string, toSequenceNr: number): Promise<number>;
}

export function createInventoryProjector(options: InventoryProjectorOptions): InventoryProjector {
  const {
    journal,
    serde,
    pool,
    logger,
    groupId = INVENTORY_PROJECTOR_GROUP,
    tables = liveInventoryTables,
    gapAttempts = 3,
    gapDelayMs = 100,
  } = options;

  async function loadState(tx: PoolClient, pids: string[]) {
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
    const parked = await tx.query<{ persistence_id: string; sequence_nr: number; event: InventoryEvent; source_written_at: Date | null }>(
      'select persistence_id, sequence_nr, event, source_written_at from parked_events where group_id = $1 and persistence_id = any($2)',
      [groupId, pids],
    );
    const parkedCandidates: Candidate[] = parked.rows.map((r) => ({
      persistenceId: r.persistence_id,
      sequenceNr: r.sequence_nr,
      event: r.event,
      sourceWrittenAt: r.source_written_at?.getTime(),
      origin: 'parked',
    }));
    return { current, parkedCandidates };
  }

  async function fromJournal(pid: string, from: number, to: number): Promise<Candidate[]> {
    const records = await journal.load(pid, { from, to });
    return records.map((r) => {
      const event = serde.decodeRaw(r.eventType, r.schemaVersion, r.payload);
      return { persistenceId: pid, sequenceNr: r.sequenceNr, event, sourceWrittenAt: r.writtenAt, origin: 'journal' as const };
    });
  }

  /** Plans, repairs gaps from the journal, writes. Shared by batches and unparking. */
  async function project(tx: PoolClient, incoming: Candidate[], extraPids: string[] = []): Promise<HandlerOutcome<InventoryEvent>> {
    const outcome: HandlerOutcome<InventoryEvent> = { applied: 0, duplicates: 0, gapsRepaired: 0, parked: 0, rejected: [] };
    const pids = [...new Set([...incoming.map((c) => c.persistenceId), ...extraPids])].sort();
    if (pids.length === 0) return outcome;
    const { current, parkedCandidates } = await loadState(tx, pids);
    const last = new Map([...current].map(([pid, r]) => [pid, r.lastSequenceNr]));
    const { plan, repaired } = await gateWithRepair(last, [...parkedCandidates, ...incoming], (g) => fromJournal(g.persistenceId, g.from, g.to), {
      attempts: gapAttempts,
      delayMs: gapDelayMs,
    });
    outcome.gapsRepaired += repaired;

    const planned = planInventory(current, plan.ready);
    outcome.duplicates = plan.duplicates.filter((c) => c.origin === 'topic').length;
    outcome.applied = planned.applied.filter((c) => c.origin !== 'journal').length;
    for (const r of planned.rejected) {
      if (r.item.consumed) outcome.rejected.push({ event: r.item.consumed, code: r.code, message: r.message });
      else logger.error({ pid: r.item.persistenceId, seq: r.item.sequenceNr, code: r.code }, r.message);
    }

    // Park what waits behind a gap the journal cannot fill yet, or behind a rejected event.
    const toPark = [...plan.gaps.flatMap((g) => g.waiting), ...planned.held].filter((c) => c.origin !== 'parked');
    if (toPark.length > 0) {
      outcome.parked = toPark.length;
      await tx.query(
        `insert into parked_events(group_id, persistence_id, sequence_nr, event_type, event, source_written_at)
         select $1, p, s, t, e, to_timestamp(w / 1000.0)
         from unnest($2::text[], $3::bigint[], $4::text[], $5::jsonb[], $6::double precision[]) as x(p, s, t, e, w)
         on conflict do nothing`,
        [
          groupId,
          toPark.map((c) => c.persistenceId),
          toPark.map((c) => c.sequenceNr),
          toPark.map((c) => c.event.type),
          toPark.map((c) => JSON.stringify(c.event)),
          toPark.map((c) => c.sourceWrittenAt ?? null),
        ],
      );
      for (const g of plan.gaps) logger.warn({ pid: g.persistenceId, from: g.from, to: g.to }, 'gap not in the journal yet: parked');
    }
    const unparked = planned.applied.filter((c) => c.origin === 'parked');
    if (unparked.length > 0) {
      await tx.query(
        `delete from parked_events where group_id = $1 and (persistence_id, sequence_nr) in
           (select * from unnest($2::text[], $3::bigint[]))`,
        [groupId, unparked.map((c) => c.persistenceId), unparked.map((c) => c.sequenceNr)],
      );
    }
    await writeMovements(tx, planned.movements);
    await upsertRows(tx, [...planned.rows.values()]);
    recordAppliedTimes(outcome, planned.applied);
    return outcome;
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

  async function upsertRows(tx: PoolClient, rows: InventoryRow[]) {
    if (rows.length === 0) return;
    await tx.query(`create temp table if not exists stg_inventories (
      persistence_id text, inventory_id text, product_id text, warehouse_id text, zone_id text,
      product_storage_condition text, zone_type text, on_hand integer, reserved integer, violations integer,
      last_sequence_nr bigint, last_event_at timestamptz, last_source_written_at timestamptz) on commit delete rows`);
    const cols = `persistence_id, inventory_id, product_id, warehouse_id, zone_id, product_storage_condition, zone_type,
      on_hand, reserved, violations, last_sequence_nr, last_event_at, last_source_written_at`;
    await copyRows(tx, `copy stg_inventories (${cols}) from stdin`, rows, (r) => [
      r.persistenceId, r.inventoryId, r.productId, r.warehouseId, r.zoneId, r.productStorageCondition, r.zoneType,
      r.onHand, r.reserved, r.violations, r.lastSequenceNr, new Date(r.lastEventAt),
      r.lastSourceWrittenAt === null ? null : new Date(r.lastSourceWrittenAt),
    ]);
    await tx.query(
      `insert into ${tables.inventories} (${cols}, updated_at)
       select ${cols}, now() from stg_inventories
       on conflict (persistence_id) do update set
         on_hand = excluded.on_hand, reserved = excluded.reserved, violations = excluded.violations,
         last_sequence_nr = excluded.last_sequence_nr, last_event_at = excluded.last_event_at,
         last_source_written_at = excluded.last_source_written_at, updated_at = now()`,
    );
  }

  return {
    views: [tables.inventories, tables.movements],
    async applyBatch(events, tx) {
      const incoming: Candidate[] = events.map((c) => ({
        persistenceId: c.event.data.metadata.persistenceId,
        sequenceNr: c.event.data.metadata.sequenceNr,
        event: c.event,
        sourceWrittenAt: c.sourceWrittenAt,
        consumed: c,
        origin: 'topic',
      }));
      return project(tx, incoming);
    },
    async repair(pid, toSequenceNr) {
      return withTransaction(pool, async (tx) => {
        const { rows } = await tx.query<{ last: number }>(
          `select last_sequence_nr as last from ${tables.inventories} where persistence_id = $1`,
          [pid],
        );
        const from = (rows[0]?.last ?? 0) + 1;
        if (from > toSequenceNr) return 0;
        const candidates = await fromJournal(pid, from, toSequenceNr);
        const before = candidates.length;
        const outcome = await project(tx, candidates);
        return before - outcome.parked;
      });
    },
    async maintain() {
      const { rows } = await pool.query<{ persistence_id: string }>(
        'select distinct persistence_id from parked_events where group_id = $1 limit 500',
        [groupId],
      );
      options.onParkedChange?.(rows.length);
      for (const { persistence_id: pid } of rows) {
        // No new events: loading the parked ones re-runs the gap repair for this id.
        await withTransaction(pool, (tx) => project(tx, [], [pid])).catch((err: unknown) => logger.warn({ pid, err: (err as Error).message }, 'unparking failed'));
      }
    },
  };
}
