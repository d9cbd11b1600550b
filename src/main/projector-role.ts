import type { Registry } from 'prom-client';
import type { Journal } from '../command/journal.js';
import { createInventoryProjector, INVENTORY_PROJECTOR_GROUP } from '../consumers/projectors/inventory-projector.js';
import type { ConsumerRunner } from '../consumers/runner.js';
import type { InventoryEvent } from '../events/generated/inventory.js';
import type { EventSerde } from '../events/serde.js';
import type { Clients } from './clients.js';
import { startConsumerRole } from './consumer-role.js';

/** The `inventory-projector` group: the inventories read model and its movement log, on the shared runner. */
export async function startProjectorRole(o: {
  clients: Clients;
  registry: Registry;
  topic: string;
  serde: EventSerde<InventoryEvent>;
  journal: Journal;
}): Promise<{ groupId: string; runner: ConsumerRunner }> {
  const { clients, serde, journal } = o;
  return startConsumerRole({
    ...o,
    name: INVENTORY_PROJECTOR_GROUP,
    makeHandler: (ctx) => createInventoryProjector({ journal, serde, pool: clients.pool(), logger: clients.logger, ...ctx }),
  });
}
