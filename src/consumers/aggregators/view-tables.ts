import { PipelineError } from '../../shared/errors.js';
import { renameGroupOffsets } from '../offset-store.js';
import { withTransaction, type Pool, type PoolClient } from '../../db/db.js';
import { deleteViewFreshness } from '../../db/view-freshness.js';
import { inventoryViews, viewKeys, type ViewKey } from './inventory-views.js';

export { recreateZoneUtilisation } from './zone-utilisation.js';

/**
 * Table names of the inventory-views group — its state table and one per
 * view of `inventoryViews` — so that a rebuild can aggregate from offset 0
 * into shadow tables (under its own group id) while the live ones keep
 * serving, then swap them in atomically.
 */
export type ViewTables = { state: string } & Record<ViewKey, string>;

/** The same tables under other names, `name(live name)` each. */
const renamed = (name: (live: string) => string): ViewTables => ({
  state: name('inventory_view_state'),
  ...(Object.fromEntries(viewKeys.map((k) => [k, name(inventoryViews[k].table)])) as Record<ViewKey, string>),
});

export const liveViewTables: ViewTables = renamed((live) => live);

const keys: (keyof ViewTables)[] = ['state', ...viewKeys];

/**
 * Names of the views the API reads (freshness rows); the state table is the
 * group's own. A SQL view over a table (zone_utilisation) reads the live
 * table only, so a rebuild into shadow tables must not mark it fresh.
 */
export const publishedViews = (t: ViewTables): string[] =>
  viewKeys.flatMap((k) => [t[k], ...(t[k] === liveViewTables[k] ? (inventoryViews[k].dependents ?? []).map((d) => d.name) : [])]);

/** Re-points every SQL view over the group's tables at the tables now bearing the live names (in a swap's transaction). */
export async function recreateDependentViews(tx: PoolClient): Promise<void> {
  for (const k of viewKeys) for (const d of inventoryViews[k].dependents ?? []) await d.recreate(tx);
}

const SUFFIX = /^[a-z0-9_]{1,20}$/;

export const shadowViewTables = (suffix: string): ViewTables => {
  if (!SUFFIX.test(suffix)) throw new PipelineError('CONFIG', `invalid shadow suffix ${suffix}`);
  return renamed((live) => `${live}_${suffix}`);
};

/**
 * The tables from a live → shadow name map (the shape a generic rebuild
 * hands to its handler factory); every live table must be in it.
 */
export function viewTablesFromNames(names: Readonly<Record<string, string>>): ViewTables {
  const missing = keys.filter((k) => !names[liveViewTables[k]]);
  if (missing.length > 0) throw new PipelineError('CONFIG', `no shadow name for ${missing.map((k) => liveViewTables[k]).join(', ')}`);
  return renamed((live) => names[live]!);
}

/** Every table the group writes, for a rebuild (live names). */
export const viewTableNames = (): string[] => keys.map((k) => liveViewTables[k]);

/** Creates empty shadow tables shaped like the live ones (constraints, indexes, defaults, identity, generated columns). */
export async function createShadowViewTables(pool: Pool, suffix: string): Promise<ViewTables> {
  const shadow = shadowViewTables(suffix);
  await withTransaction(pool, async (tx) => {
    for (const k of keys) {
      await tx.query(`drop table if exists ${shadow[k]}`);
      await tx.query(`create table ${shadow[k]} (like ${liveViewTables[k]} including all)`);
    }
  });
  return shadow;
}

/**
 * Swaps rebuilt shadow tables in, in one transaction: readers see the old
 * views or the new ones, never a mix. The old tables are dropped. The rebuild
 * group's offsets, per-partition watermarks and parked events become the live
 * group's in the same transaction (they describe the swapped-in tables), so
 * the live group must be stopped while this runs and resumes exactly where
 * the rebuild stopped. The shadow views' freshness rows are deleted (the
 * live rows stay: nothing of the rebuild may outlive the swap). (src/consumers/rebuild.ts
 * does the same for a running live group; this is the minimal form, used by tests.)
 */
export async function swapInShadowViewTables(
  pool: Pool,
  { suffix, liveGroupId, rebuildGroupId }: { suffix: string; liveGroupId: string; rebuildGroupId: string },
): Promise<void> {
  const shadow = shadowViewTables(suffix);
  await withTransaction(pool, async (tx) => {
    await renameGroupOffsets(tx, rebuildGroupId, liveGroupId);
    for (const table of ['view_watermarks', 'parked_events']) {
      await tx.query(`delete from ${table} where group_id = $1`, [liveGroupId]);
      await tx.query(`update ${table} set group_id = $1 where group_id = $2`, [liveGroupId, rebuildGroupId]);
    }
    for (const k of keys) {
      const live = liveViewTables[k];
      await tx.query(`alter table ${live} rename to ${live}_old`);
      await tx.query(`alter table ${shadow[k]} rename to ${live}`);
    }
    await recreateDependentViews(tx);
    for (const k of keys) await tx.query(`drop table ${liveViewTables[k]}_old`);
    await deleteViewFreshness(tx, { groupId: rebuildGroupId, views: publishedViews(shadow) });
  });
}
