import type { Queryable } from './queryable.js';

export interface LowStockAlertRow {
  alertId: number;
  persistenceId: string;
  inventoryId: string;
  productId: string;
  warehouseId: string;
  zoneId: string;
  threshold: number;
  availableAtOpen: number;
  openedAt: Date;
  closedAt: Date | null;
  availableAtClose: number | null;
}

export type AlertStatusFilter = 'open' | 'closed' | 'all';

/**
 * One page of low-stock alerts, newest first (alert_id descending: alerts are
 * numbered as they open), strictly before `beforeAlertId`.
 */
export async function listLowStockAlerts(
  db: Queryable,
  filters: { status: AlertStatusFilter; warehouseId?: string; zoneId?: string; productId?: string },
  page: { beforeAlertId?: number; limit: number },
): Promise<{ rows: LowStockAlertRow[]; hasMore: boolean }> {
  const params: unknown[] = [];
  const conds: string[] = [];
  const param = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (filters.status === 'open') conds.push('closed_at is null');
  if (filters.status === 'closed') conds.push('closed_at is not null');
  if (filters.warehouseId !== undefined) conds.push(`warehouse_id = ${param(filters.warehouseId)}`);
  if (filters.zoneId !== undefined) conds.push(`zone_id = ${param(filters.zoneId)}`);
  if (filters.productId !== undefined) conds.push(`product_id = ${param(filters.productId)}`);
  if (page.beforeAlertId !== undefined) conds.push(`alert_id < ${param(page.beforeAlertId)}`);
  const { rows } = await db.query<LowStockAlertRow>(
    `select alert_id as "alertId", persistence_id as "persistenceId", inventory_id as "inventoryId",
            product_id as "productId", warehouse_id as "warehouseId", zone_id as "zoneId", threshold,
            available_at_open as "availableAtOpen", opened_at as "openedAt", closed_at as "closedAt",
            available_at_close as "availableAtClose"
       from low_stock_alerts ${conds.length ? `where ${conds.join(' and ')}` : ''}
      order by alert_id desc
      limit ${param(page.limit + 1)}`,
    params,
  );
  return { rows: rows.slice(0, page.limit), hasMore: rows.length > page.limit };
}
