import type { Registry } from 'prom-client';
import type { Journal } from '../command/journal.js';
import type { InventoryEvent } from '../events/generated/inventory.js';
import type { EventSerde } from '../events/serde.js';
import type { ConsumerRunner } from '../consumers/runner.js';
import type { RebuildOptions } from '../consumers/rebuild.js';
import { PipelineError } from '../shared/errors.js';
import type { Clients } from './clients.js';

export async function startViewsRole(_o: { clients: Clients; registry: Registry; topic: string; serde: EventSerde<InventoryEvent>; journal: Journal }): Promise<{ groupId: string; runner: ConsumerRunner }> {
  throw new PipelineError('ROLE_UNAVAILABLE', 'the views role is not wired yet');
}

export function viewsRebuildSpec(
  _view: string,
  _o: { clients: Clients; serde: EventSerde<InventoryEvent>; journal: Journal },
): Pick<RebuildOptions<InventoryEvent>, 'liveGroup' | 'tables' | 'makeHandler'> | undefined {
  return undefined;
}
