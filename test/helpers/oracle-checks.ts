import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import { expect } from 'vitest';
import { oracleOfJournal, type RawJournalEvent } from './oracle.js';
import { eventually } from './stack.js';

/**
 * The database checked against the oracle (test/helpers/oracle.ts), which
 * shares no code with src/: the read model and the movement history row by
 * row, and every aggregated view recomputed by SQL over the oracle's decoded
 * journal. Failures name the persistence id (or the view key) that differs.
 */

const MAX_LISTED = 25;

function expectNoDifferences(what: string, differences: string[]) {
  expect(
    differences.slice(0, MAX_LISTED),
    `${differences.length} ${what} differ from the journal oracle${differences.length > MAX_LISTED ? ` (first ${MAX_LISTED} shown)` : ''}`,
  ).toEqual([]);
}

interface InventoryRow {
  persistence_id: string;
  inventory_id: string;
  product_id: string;
  warehouse_id: string;
  zone_id: string;
  on_hand: number;
  reserved: number;
  violations: number;
  last_sequence_nr: number;
}

/**
 * Read model = the oracle's fold of the journal, per inventory (stock,
 * identity, violations, last sequence number); movements = one row per
 * journal event with the oracle's movement type, quantity, before/after stock
 * and upcast detail. Returns the inventory rows.
 */
export async function expectReadModelEqualsJournal(
  pool: pg.Pool,
  records: readonly RawJournalEvent[],
  /** `ids: false` when the events reached the topic through a layout that carries no event or correlation id (the bridge derives them). */
  options: { ids?: boolean } = {},
): Promise<InventoryRow[]> {
  const { ids = true } = options;
  const { inventories, movements } = oracleOfJournal(records);
  const inv = await pool.query<InventoryRow>(
    `select persistence_id, inventory_id, product_id, warehouse_id, zone_id, on_hand, reserved, violations, last_sequence_nr::int
     from inventories order by persistence_id`,
  );
  const differences: string[] = [];
  const seen = new Set<string>();
  for (const r of inv.rows) {
    seen.add(r.persistence_id);
    const s = inventories.get(r.persistence_id);
    if (!s) {
      differences.push(`${r.persistence_id}: in the read model, not in the journal`);
      continue;
    }
    const actual = `on_hand ${r.on_hand}, reserved ${r.reserved}, last seq ${r.last_sequence_nr}, violations ${r.violations}, ${r.inventory_id}/${r.product_id}/${r.warehouse_id}/${r.zone_id}`;
    const expected = `on_hand ${s.onHand}, reserved ${s.reserved}, last seq ${s.sequenceNr}, violations ${s.violations}, ${s.inventoryId}/${s.productId}/${s.warehouseId}/${s.zoneId}`;
    if (actual !== expected) differences.push(`${r.persistence_id}: read model has ${actual}; the journal says ${expected}`);
  }
  for (const pid of inventories.keys()) if (!seen.has(pid)) differences.push(`${pid}: in the journal, missing from the read model`);
  expectNoDifferences('inventories', differences);

  const m = await pool.query<{
    persistence_id: string; sequence_nr: number; event_id: string; event_type: string; movement_type: string; quantity: number;
    on_hand_before: number; on_hand_after: number; reserved_before: number; reserved_after: number; warehouse_id: string; zone_id: string;
    event_ms: number; correlation_id: string; causation_id: string | null; detail: Record<string, unknown>;
  }>(
    `select persistence_id, sequence_nr::int, event_id, event_type, movement_type, quantity, on_hand_before, on_hand_after,
            reserved_before, reserved_after, warehouse_id, zone_id, (extract(epoch from event_time) * 1000)::float8 as event_ms,
            correlation_id, causation_id, detail
     from inventory_movements`,
  );
  const expectedByKey = new Map(movements.map((x) => [`${x.persistenceId}#${x.sequenceNr}`, x]));
  const moved: string[] = [];
  const seenMoves = new Map<string, number>();
  for (const r of m.rows) {
    const key = `${r.persistence_id}#${r.sequence_nr}`;
    seenMoves.set(key, (seenMoves.get(key) ?? 0) + 1);
    const x = expectedByKey.get(key);
    if (!x) {
      moved.push(`${key}: movement not in the journal`);
      continue;
    }
    const actual = [r.event_type, r.movement_type, r.quantity, r.on_hand_before, r.on_hand_after, r.reserved_before, r.reserved_after,
      r.warehouse_id, r.zone_id, Math.round(r.event_ms), ...(ids ? [r.event_id, r.correlation_id, r.causation_id] : [])];
    const expected = [x.eventType, x.effect.movementType, x.effect.quantity, x.onHandBefore, x.onHandAfter, x.reservedBefore, x.reservedAfter,
      x.warehouseId, x.zoneId, x.occurredAt, ...(ids ? [x.eventId, x.correlationId, x.causationId] : [])];
    if (!isDeepStrictEqual(actual, expected)) moved.push(`${key} (${x.eventType} v${x.schemaVersion}): movement ${JSON.stringify(actual)}; the journal says ${JSON.stringify(expected)}`);
    else if (!isDeepStrictEqual(r.detail, x.effect.latest)) moved.push(`${key} (${x.eventType} v${x.schemaVersion}): detail ${JSON.stringify(r.detail)}; the journal says ${JSON.stringify(x.effect.latest)}`);
  }
  for (const [key, n] of seenMoves) if (n > 1) moved.push(`${key}: ${n} movements`);
  for (const key of expectedByKey.keys()) if (!seenMoves.has(key)) moved.push(`${key}: journal event without a movement`);
  expectNoDifferences('movements', moved);
  return inv.rows;
}

/**
 * The aggregated views recomputed by SQL over the oracle's decoded journal
 * (loaded into a temporary table): stock by warehouse × zone and by category
 * × storage condition, daily movements per UTC day of event time (late events
 * counted, the default LATE_EVENTS=correct), and the open low-stock alerts
 * (available below the zone's threshold). Waits up to `timeoutMs` for the
 * views group to catch up, then fails listing the rows that differ.
 */
export async function expectViewsEqualJournal(pool: pg.Pool, records: readonly RawJournalEvent[], timeoutMs = 120_000): Promise<void> {
  const { movements } = oracleOfJournal(records);
  const client = await pool.connect();
  let lastDiff: string[] | undefined;
  try {
    await client.query('drop table if exists pg_temp.oracle_events');
    await client.query(`create temp table oracle_events (
      persistence_id text, sequence_nr bigint, product_id text, product_storage_condition text, warehouse_id text, zone_id text,
      movement_type text, quantity bigint, on_hand_delta bigint, reserved_delta bigint, event_time timestamptz, created int)`);
    const created = new Map(movements.filter((x) => x.eventType === 'InventoryCreated').map((x) => [x.persistenceId, x.effect.latest]));
    for (let i = 0; i < movements.length; i += 5000) {
      const chunk = movements.slice(i, i + 5000);
      await client.query(
        `insert into oracle_events
         select a, b, c, d, e, f, g, h, i, j, to_timestamp(k / 1000.0), l
         from unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bigint[], $10::bigint[],
                     $11::float8[], $12::int[]) x(a, b, c, d, e, f, g, h, i, j, k, l)`,
        [
          chunk.map((x) => x.persistenceId), chunk.map((x) => x.sequenceNr),
          chunk.map((x) => String(created.get(x.persistenceId)?.productId)),
          chunk.map((x) => String(created.get(x.persistenceId)?.productStorageCondition)),
          chunk.map((x) => x.warehouseId), chunk.map((x) => x.zoneId), chunk.map((x) => x.effect.movementType),
          chunk.map((x) => x.effect.quantity), chunk.map((x) => x.effect.onHand), chunk.map((x) => x.effect.reserved),
          chunk.map((x) => x.occurredAt), chunk.map((x) => (x.eventType === 'InventoryCreated' ? 1 : 0)),
        ],
      );
    }
    const checks: { name: string; actual: string; expected: string }[] = [
      {
        name: 'stock_by_warehouse_zone',
        actual: `select warehouse_id, zone_id, on_hand::bigint, reserved::bigint, inventory_count::int from stock_by_warehouse_zone
                 where inventory_count <> 0 or on_hand <> 0 or reserved <> 0`,
        expected: `select warehouse_id, zone_id, sum(on_hand_delta)::bigint, sum(reserved_delta)::bigint, sum(created)::int from oracle_events group by 1, 2`,
      },
      {
        name: 'stock_by_category_condition',
        actual: `select category, storage_condition, on_hand::bigint, reserved::bigint, inventory_count::int from stock_by_category_condition
                 where inventory_count <> 0 or on_hand <> 0 or reserved <> 0`,
        // A product missing from the master data counts under UNKNOWN with the condition its creation stated.
        expected: `select coalesce(p.category, 'UNKNOWN'), coalesce(p.storage_condition, e.product_storage_condition),
                          sum(on_hand_delta)::bigint, sum(reserved_delta)::bigint, sum(created)::int
                   from oracle_events e left join products p using (product_id) group by 1, 2`,
      },
      {
        name: 'daily_movements',
        actual: `select day::text, warehouse_id, zone_id, movement_type, event_count::bigint, quantity::bigint from daily_movements
                 where event_count <> 0 or quantity <> 0`,
        expected: `select (event_time at time zone 'UTC')::date::text, warehouse_id, zone_id, movement_type, count(*)::bigint, sum(quantity)::bigint
                   from oracle_events group by 1, 2, 3, 4`,
      },
      {
        name: 'stock_by_category_daily',
        actual: `select category, storage_condition, day::text, on_hand_change::bigint, reserved_change::bigint, inventory_count_change::int
                 from stock_by_category_daily where on_hand_change <> 0 or reserved_change <> 0 or inventory_count_change <> 0`,
        expected: `select coalesce(p.category, 'UNKNOWN'), coalesce(p.storage_condition, e.product_storage_condition), (event_time at time zone 'UTC')::date::text,
                          sum(on_hand_delta)::bigint, sum(reserved_delta)::bigint, sum(created)::int
                   from oracle_events e left join products p using (product_id) group by 1, 2, 3
                   having sum(on_hand_delta) <> 0 or sum(reserved_delta) <> 0 or sum(created) <> 0`,
      },
      {
        name: 'low_stock_alerts (open)',
        actual: `select persistence_id, zone_id, threshold from low_stock_alerts where closed_at is null`,
        expected: `select s.persistence_id, s.zone_id, z.low_stock_threshold from (
                     select persistence_id, zone_id, sum(on_hand_delta) - sum(reserved_delta) as available from oracle_events group by 1, 2) s
                   join warehouse_zones z using (zone_id) where s.available < z.low_stock_threshold`,
      },
    ];
    const diff = async () => {
      const out: string[] = [];
      for (const c of checks) {
        const rows = await client.query<{ side: string; r: string }>(
          `select 'view has' as side, a::text as r from ((${c.actual}) except all (${c.expected})) a
           union all
           select 'journal says', e::text from ((${c.expected}) except all (${c.actual})) e
           order by 2, 1`,
        );
        for (const r of rows.rows) out.push(`${c.name}: ${r.side} ${r.r}`);
      }
      return out;
    };
    let failure: unknown;
    await eventually(async () => {
      lastDiff = undefined;
      lastDiff = await diff();
      return lastDiff.length === 0 ? true : undefined;
    }, timeoutMs, 1000).catch((err: unknown) => (failure = err));
    // A comparison that could not run is a failure, never an empty difference.
    if (lastDiff === undefined) throw new Error(`the views could not be compared with the journal oracle: ${String(failure)}`);
    expectNoDifferences('view rows', lastDiff);
  } finally {
    await client.query('drop table if exists pg_temp.oracle_events').catch(() => undefined);
    client.release();
  }
}
