import type { Registry } from 'prom-client';
import { createInventoryViewsAggregator, INVENTORY_VIEWS_GROUP } from '../consumers/aggregators/inventory-views-aggregator.js';
import { recreateDependentViews, viewTableNames, viewTablesFromNames } from '../consumers/aggregators/view-tables.js';
import type { DeadLetterQueue } from '../consumers/dead-letter.js';
import type { ConsumerHandler } from '../consumers/handler.js';
import { createInventoryProjector, INVENTORY_PROJECTOR_GROUP, liveInventoryTables } from '../consumers/projectors/inventory-projector.js';
import type { RebuildTable } from '../consumers/rebuild.js';
import type { JournalReader } from '../consumers/source-journal.js';
import type { PoolClient } from '../db/db.js';
import type { InventoryEvent } from '../events/generated/inventory.js';
import type { EventSerde } from '../events/serde.js';
import type { Clients } from './clients.js';

/** What every handler is built from: the composition root's clients and the inventory topics' serde and journal. */
export interface ConsumerDeps {
  clients: Clients;
  serde: EventSerde<InventoryEvent>;
  /** Every source table, for gap repair. */
  journal: JournalReader;
}

/**
 * Where a handler runs: its group id, and for a rebuild the shadow table of
 * each live table (`tables`, live name → shadow name); a live role adds its
 * metrics registry, a DLQ for work outside batches and the parked-ids gauge.
 */
export interface HandlerSlot {
  groupId: string;
  tables?: Readonly<Record<string, string>>;
  metrics?: Registry;
  deadLetterQueue?: DeadLetterQueue;
  onParkedChange?: (parkedIds: number) => void;
}

/** One consumer group of the pipeline, as a value. */
export interface ConsumerDefinition<R extends string = string> {
  /** The role that runs it (`run --roles`, ROLES), also its name in the shutdown log. */
  role: R;
  /** Its group name under GROUP_PREFIX; what `rebuild <name>` takes, and what `status` watches. */
  name: string;
  /** The tables it writes (live names, in its lock order): what a rebuild shadows and swaps in. */
  tables: readonly RebuildTable[];
  /** Runs in a rebuild's swap transaction after the renames (SQL views re-pointed at the new tables). */
  afterSwap?: (tx: PoolClient) => Promise<void>;
  handler(deps: ConsumerDeps, slot: HandlerSlot): ConsumerHandler<InventoryEvent>;
}

const consumer = <R extends string>(d: ConsumerDefinition<R>) => d;

/**
 * The pipeline's consumer groups. Roles, `rebuild`, `status` and the group
 * names derive from this list: a new group is an entry here and its own
 * files (its handler on the ordered-handler core, its migration).
 */
export const CONSUMERS = [
  consumer({
    role: 'projector',
    name: INVENTORY_PROJECTOR_GROUP,
    tables: [{ live: liveInventoryTables.inventories }, { live: liveInventoryTables.movements }],
    handler: ({ clients, serde, journal }, { tables, metrics: _metrics, ...slot }) =>
      createInventoryProjector({
        journal,
        serde,
        pool: clients.pool(),
        logger: clients.logger,
        ...slot,
        ...(tables ? { tables: { inventories: tables[liveInventoryTables.inventories]!, movements: tables[liveInventoryTables.movements]! } } : {}),
      }),
  }),
  consumer({
    role: 'views',
    name: INVENTORY_VIEWS_GROUP,
    tables: viewTableNames().map((live) => ({ live })),
    afterSwap: recreateDependentViews,
    handler: ({ clients, serde, journal }, { tables, ...slot }) =>
      createInventoryViewsAggregator({
        journal,
        serde,
        pool: clients.pool(),
        logger: clients.logger,
        graceMs: clients.config.windowGraceMs,
        lateEvents: clients.config.lateEvents,
        ...slot,
        ...(tables ? { tables: viewTablesFromNames(tables) } : {}),
      }),
  }),
] as const;

export type ConsumerRole = (typeof CONSUMERS)[number]['role'];

/** The consumer named `name` (its group name without prefix), or undefined. */
export const consumerNamed = (name: string): ConsumerDefinition | undefined => CONSUMERS.find((c) => c.name === name);
