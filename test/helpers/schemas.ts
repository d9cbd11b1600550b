import { loadTopicCatalog } from '../../src/events/catalog.js';
import type { InventoryEvent } from '../../src/events/generated/inventory.js';
import { createSchemaStore } from '../../src/events/schema-store.js';
import { syncSchemas } from '../../src/events/schema-sync.js';
import { createEventSerde, type EventSerde } from '../../src/events/serde.js';
import { inventoryUpcasters } from '../../src/events/upcasters/index.js';
import { config } from './stack.js';

/**
 * The event contract as tests use it: the inventory catalog (schemas/), the
 * stack's schema registry, and a serde per topic — the one place tests build
 * them.
 */
export const catalog = loadTopicCatalog('inventory');

export const schemaStore = () =>
  createSchemaStore({ url: config.schemaRegistryUrl, username: config.schemaRegistryUsername, password: config.schemaRegistryPassword });

/** An event of any type, as the bridge's serde sees it (no generated type). */
export type AnyEvent = { type: string; data: Record<string, unknown> };

/** A serde for `topic`, with every schema version registered under the topic's subjects. */
export async function serdeFor<E = InventoryEvent>(topic: string): Promise<EventSerde<E>> {
  const store = schemaStore();
  await syncSchemas(store, catalog, topic);
  return createEventSerde<E>({ topic, catalog, store, upcasters: inventoryUpcasters });
}
