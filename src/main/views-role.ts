import type { JournalReader } from '../consumers/source-journal.js';
import { createInventoryViewsAggregator, INVENTORY_VIEWS_GROUP } from '../consumers/aggregators/inventory-views-aggregator.js';
import { recreateZoneUtilisation, viewTableNames, viewTablesFromNames } from '../consumers/aggregators/view-tables.js';
import type { RebuildOptions } from '../consumers/rebuild.js';
import type { ConsumerRunner } from '../consumers/runner.js';
import type { InventoryEvent } from '../events/generated/inventory.js';
import type { EventSerde } from '../events/serde.js';
import { liveGroupId, rebuildGroupId } from '../shared/group-names.js';
import type { Clients } from './clients.js';
import { startConsumerRole, type ConsumerRoleInput } from './consumer-role.js';

/**
 * The `inventory-views` group: the aggregator on the shared runner, with one
 * producer for the runner's DLQ and the aggregator's own (maintenance-time)
 * dead letters.
 */
export async function startViewsRole(o: ConsumerRoleInput): Promise<{ groupId: string; runner: ConsumerRunner }> {
  const { clients, registry, serde, journal } = o;
  const { config, logger } = clients;
  return startConsumerRole({
    ...o,
    name: INVENTORY_VIEWS_GROUP,
    makeHandler: (ctx) =>
      createInventoryViewsAggregator({
        journal,
        serde,
        pool: clients.pool(),
        logger,
        metrics: registry,
        graceMs: config.windowGraceMs,
        lateEvents: config.lateEvents,
        ...ctx,
      }),
  });
}

/** How `rebuild inventory-views` rebuilds the group's tables (see consumers/rebuild.ts). */
export function viewsRebuildSpec(
  view: string,
  o: { clients: Clients; serde: EventSerde<InventoryEvent>; journal: JournalReader },
): Pick<RebuildOptions<InventoryEvent>, 'liveGroup' | 'tables' | 'makeHandler' | 'afterSwap'> | undefined {
  if (view !== INVENTORY_VIEWS_GROUP) return undefined;
  const { clients, serde, journal } = o;
  const liveGroup = liveGroupId(clients.config.groupPrefix, INVENTORY_VIEWS_GROUP);
  return {
    liveGroup,
    tables: viewTableNames().map((live) => ({ live })),
    makeHandler: (names) =>
      createInventoryViewsAggregator({
        journal,
        serde,
        pool: clients.pool(),
        logger: clients.logger,
        groupId: rebuildGroupId(liveGroup),
        tables: viewTablesFromNames(names),
        graceMs: clients.config.windowGraceMs,
        lateEvents: clients.config.lateEvents,
      }),
    // zone_utilisation is a SQL view bound to the old stock table until re-created.
    afterSwap: recreateZoneUtilisation,
  };
}
