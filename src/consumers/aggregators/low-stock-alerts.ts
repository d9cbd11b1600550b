import type { PoolClient } from '../../db/db.js';
import type { InventoryView } from './group-view.js';

/**
 * low_stock_alerts: one row per episode of "available < the zone's threshold"
 * of an inventory, opened and closed at event time. Transitions are found per
 * event (not per batch), so the history is the same however the stream is cut
 * into batches.
 */
export interface AlertSubject {
  persistenceId: string;
  inventoryId: string;
  productId: string;
  warehouseId: string;
  zoneId: string;
}

export interface AlertRow extends AlertSubject {
  threshold: number;
  availableAtOpen: number;
  openedAt: number;
  closedAt: number | null;
  availableAtClose: number | null;
}

export interface AlertChanges {
  /** Alerts that were open before the batch and close in it. */
  closes: { persistenceId: string; closedAt: number; availableAtClose: number }[];
  /** Episodes that open in the batch; closedAt null when still open at its end. */
  inserts: AlertRow[];
}

/** Whether an alert must open, close or stay as it is. A threshold of null (zone unknown) never alerts. */
export function alertTransition(open: boolean, available: number, threshold: number | null): 'open' | 'close' | null {
  const low = threshold !== null && available < threshold;
  if (low && !open) return 'open';
  if (!low && open) return 'close';
  return null;
}

/** Collects transitions into the two set-based writes. */
export function createAlertCollector() {
  const closes: AlertChanges['closes'] = [];
  const inserts: AlertRow[] = [];
  // Episodes opened in this batch and still open, by persistence id.
  const openedHere = new Map<string, AlertRow>();
  return {
    open(subject: AlertSubject, threshold: number, available: number, at: number) {
      const { persistenceId, inventoryId, productId, warehouseId, zoneId } = subject;
      const row: AlertRow = {
        persistenceId, inventoryId, productId, warehouseId, zoneId,
        threshold, availableAtOpen: available, openedAt: at, closedAt: null, availableAtClose: null,
      };
      inserts.push(row);
      openedHere.set(persistenceId, row);
    },
    close(persistenceId: string, available: number, at: number) {
      const row = openedHere.get(persistenceId);
      if (row) {
        row.closedAt = at;
        row.availableAtClose = available;
        openedHere.delete(persistenceId);
      } else closes.push({ persistenceId, closedAt: at, availableAtClose: available });
    },
    changes: (): AlertChanges => ({ closes, inserts }),
  };
}

/** Closes first, then inserts: the partial unique index allows one open alert per inventory at any time. */
export async function applyAlerts(tx: PoolClient, table: string, c: AlertChanges) {
  if (c.closes.length > 0) {
    await tx.query(
      `update ${table} a set closed_at = to_timestamp(x.t / 1000.0), available_at_close = x.v
       from unnest($1::text[], $2::double precision[], $3::int[]) x(p, t, v)
       where a.persistence_id = x.p and a.closed_at is null`,
      [c.closes.map((x) => x.persistenceId), c.closes.map((x) => x.closedAt), c.closes.map((x) => x.availableAtClose)],
    );
  }
  if (c.inserts.length > 0) {
    const r = c.inserts;
    await tx.query(
      `insert into ${table} (persistence_id, inventory_id, product_id, warehouse_id, zone_id, threshold,
         available_at_open, opened_at, closed_at, available_at_close)
       select p, i, pr, w, z, th, vo, to_timestamp(o / 1000.0), to_timestamp(c / 1000.0), vc
       from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[],
                   $8::double precision[], $9::double precision[], $10::int[]) x(p, i, pr, w, z, th, vo, o, c, vc)`,
      [
        r.map((x) => x.persistenceId), r.map((x) => x.inventoryId), r.map((x) => x.productId), r.map((x) => x.warehouseId),
        r.map((x) => x.zoneId), r.map((x) => x.threshold), r.map((x) => x.availableAtOpen), r.map((x) => x.openedAt),
        r.map((x) => x.closedAt), r.map((x) => x.availableAtClose),
      ],
    );
  }
}

/** The view: the transitions the group found, replayed into the two writes. */
export const lowStockAlerts: InventoryView<AlertChanges> = {
  table: 'low_stock_alerts',
  plan(steps) {
    const alerts = createAlertCollector();
    for (const { event, state, alert, threshold } of steps) {
      const available = state.onHand - state.reserved;
      if (alert === 'open') alerts.open(state, threshold!, available, event.data.metadata.occurredAt);
      else if (alert === 'close') alerts.close(state.persistenceId, available, event.data.metadata.occurredAt);
    }
    return alerts.changes();
  },
  write: applyAlerts,
};
