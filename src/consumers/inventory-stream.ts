import { latestVersions, type InventoryEvent } from '../events/generated/inventory.js';

/**
 * What the inventory consumers handle: the inventory aggregate's event
 * types, whole streams of them. Anything else the topic may carry (a
 * heartbeat on a reserved persistence id) is skipped by the ordered-handler
 * core and counted as ignored.
 */
export function isInventoryEvent(event: { type: string }): event is InventoryEvent {
  return Object.hasOwn(latestVersions, event.type);
}

export { latestVersions };
