import { describe, expect, it } from 'vitest';
import { liveViewTables, publishedViews, shadowViewTables, viewTableNames, viewTablesFromNames } from '../../../src/consumers/aggregators/view-tables.js';

describe('view tables', () => {
  it('names shadow tables after the live ones, and refuses names that are not plain identifiers', () => {
    const shadow = shadowViewTables('rebuild');
    expect(shadow).toMatchObject({
      state: 'inventory_view_state_rebuild',
      stockByZone: 'stock_by_warehouse_zone_rebuild',
      stockByCategory: 'stock_by_category_condition_rebuild',
      alerts: 'low_stock_alerts_rebuild',
      daily: 'daily_movements_rebuild',
    });
    // Every view of the group's list is shadowed, not only the ones named above.
    expect(Object.keys(shadow)).toEqual(Object.keys(liveViewTables));
    for (const [k, live] of Object.entries(liveViewTables)) expect(shadow[k as keyof typeof shadow]).toBe(`${live}_rebuild`);
    expect(() => shadowViewTables('x; drop table y')).toThrow(/invalid shadow suffix/);
  });

  it('builds the tables from a generic rebuild name map, which must cover every table', () => {
    const names = Object.fromEntries(viewTableNames().map((t) => [t, `${t}_rebuild`]));
    expect(viewTablesFromNames(names)).toEqual(shadowViewTables('rebuild'));
    expect(() => viewTablesFromNames({ inventory_view_state: 'x' })).toThrow(/no shadow name for stock_by_warehouse_zone/);
  });

  it('marks zone_utilisation fresh only for the live tables', () => {
    expect(publishedViews(liveViewTables)).toContain('zone_utilisation');
    expect(publishedViews(shadowViewTables('rebuild'))).not.toContain('zone_utilisation');
    expect(publishedViews(liveViewTables)).not.toContain('inventory_view_state');
  });
});
