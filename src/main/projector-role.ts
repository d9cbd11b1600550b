import { createInventoryProjector, INVENTORY_PROJECTOR_GROUP } from '../consumers/projectors/inventory-projector.js';
import type { ConsumerRunner } from '../consumers/runner.js';
import { startConsumerRole, type ConsumerRoleInput } from './consumer-role.js';

/** The `inventory-projector` group: the inventories read model and its movement log, on the shared runner. */
export async function startProjectorRole(o: ConsumerRoleInput): Promise<{ groupId: string; runner: ConsumerRunner }> {
  const { clients, serde, journal } = o;
  return startConsumerRole({
    ...o,
    name: INVENTORY_PROJECTOR_GROUP,
    makeHandler: (ctx) => createInventoryProjector({ journal, serde, pool: clients.pool(), logger: clients.logger, ...ctx }),
  });
}
