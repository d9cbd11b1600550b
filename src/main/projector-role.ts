import type { Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { createDeadLetterQueue } from '../consumers/dead-letter.js';
import type { Journal } from '../command/journal.js';
import { consumerMetrics } from '../consumers/consumer-metrics.js';
import { createInventoryProjector, INVENTORY_PROJECTOR_GROUP } from '../consumers/projectors/inventory-projector.js';
import { createConsumerRunner, type ConsumerRunner } from '../consumers/runner.js';
import type { InventoryEvent } from '../events/generated/inventory.js';
import type { EventSerde } from '../events/serde.js';
import { liveGroupId } from '../shared/group-names.js';
import type { Clients } from './clients.js';

/** The `inventory-projector` group: the inventories read model and its movement log, on the shared runner. */
export async function startProjectorRole(o: {
  clients: Clients;
  registry: Registry;
  topic: string;
  serde: EventSerde<InventoryEvent>;
  journal: Journal;
}): Promise<{ groupId: string; runner: ConsumerRunner }> {
  const { clients, registry, topic, serde, journal } = o;
  const { config, logger } = clients;
  const groupId = liveGroupId(config.groupPrefix, INVENTORY_PROJECTOR_GROUP);
  const parked = consumerMetrics(registry).parkedIds;
  // One producer for the runner's DLQ and for events maintain() refuses outside a batch (unparked, then invalid).
  const producer: Producer = clients.kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const runner = createConsumerRunner({
    kafka: clients.kafka(),
    pool: clients.pool(),
    groupId,
    topics: [topic],
    serde,
    handler: createInventoryProjector({
      journal,
      serde,
      pool: clients.pool(),
      logger,
      groupId,
      deadLetterQueue: createDeadLetterQueue(producer),
      onParkedChange: (n) => parked.set({ group: groupId }, n),
    }),
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
        await producer.disconnect().catch(() => undefined);
      },
    },
  };
}
