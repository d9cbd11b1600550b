import type { Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Journal } from '../command/journal.js';
import { createInventoryViewsAggregator, INVENTORY_VIEWS_GROUP } from '../consumers/aggregators/inventory-views-aggregator.js';
import { recreateZoneUtilisation, viewTableNames, viewTablesFromNames } from '../consumers/aggregators/view-tables.js';
import { consumerMetrics } from '../consumers/consumer-metrics.js';
import { createDeadLetterQueue } from '../consumers/dead-letter.js';
import type { RebuildOptions } from '../consumers/rebuild.js';
import { createConsumerRunner, type ConsumerRunner } from '../consumers/runner.js';
import type { InventoryEvent } from '../events/generated/inventory.js';
import type { EventSerde } from '../events/serde.js';
import { liveGroupId, rebuildGroupId } from '../shared/group-names.js';
import type { Clients } from './clients.js';

/**
 * The `inventory-views` group: the aggregator on the shared runner, with one
 * producer for the runner's DLQ and the aggregator's own (maintenance-time)
 * dead letters.
 */
export async function startViewsRole(o: {
  clients: Clients;
  registry: Registry;
  topic: string;
  serde: EventSerde<InventoryEvent>;
  journal: Journal;
}): Promise<{ groupId: string; runner: ConsumerRunner }> {
  const { clients, registry, topic, serde, journal } = o;
  const { config, logger } = clients;
  const groupId = `${config.groupPrefix}${INVENTORY_VIEWS_GROUP}`;
  const producer: Producer = clients.kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const parked = consumerMetrics(registry).parkedIds;
  const handler = createInventoryViewsAggregator({
    journal,
    serde,
    pool: clients.pool(),
    logger,
    metrics: registry,
    groupId,
    graceMs: config.windowGraceMs,
    lateEvents: config.lateEvents,
    deadLetterQueue: createDeadLetterQueue(producer),
    onParkedChange: (n) => parked.set({ group: groupId }, n),
  });
  const runner = createConsumerRunner({
    kafka: clients.kafka(),
    pool: clients.pool(),
    groupId,
    topics: [topic],
    serde,
    handler,
    logger,
    metrics: registry,
    maxBatchSize: config.consumerBatchSize,
    replicationFactor: config.topicReplicationFactor,
    producer,
  });
  try {
    await runner.start();
  } catch (err) {
    await producer.disconnect().catch(() => undefined); // start is retried by the caller: do not leak a producer per try
    throw err;
  }
  return {
    groupId,
    runner: {
      ...runner,
      async stop() {
        await runner.stop();
        await producer.disconnect();
      },
    },
  };
}

/** How `rebuild inventory-views` rebuilds the group's tables (see consumers/rebuild.ts). */
export function viewsRebuildSpec(
  view: string,
  o: { clients: Clients; serde: EventSerde<InventoryEvent>; journal: Journal },
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
