import type { Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { consumerMetrics } from '../consumers/consumer-metrics.js';
import { createDeadLetterQueue, type DeadLetterQueue } from '../consumers/dead-letter.js';
import type { ConsumerHandler } from '../consumers/handler.js';
import { createConsumerRunner, type ConsumerRunner } from '../consumers/runner.js';
import type { InventoryEvent } from '../events/generated/inventory.js';
import type { EventSerde } from '../events/serde.js';
import { liveGroupId } from '../shared/group-names.js';
import type { Clients } from './clients.js';
import type { Journal } from '../command/journal.js';

/** What every consumer role is started with (composition root's clients, the process registry, its topic). */
export interface ConsumerRoleInput {
  clients: Clients;
  registry: Registry;
  topic: string;
  serde: EventSerde<InventoryEvent>;
  journal: Journal;
}

/** What a consumer role's handler gets from the role: its group, a DLQ for work outside batches, the parked-ids gauge. */
export interface RoleContext {
  groupId: string;
  deadLetterQueue: DeadLetterQueue;
  onParkedChange: (parkedIds: number) => void;
}

/**
 * Starts one live consumer group on the shared runner: one producer for the
 * runner's DLQ and the handler's own (maintenance-time) dead letters, closed
 * with the runner — or at once when the start fails, since the caller
 * retries the start and must not leak a producer per try.
 */
export async function startConsumerRole(o: Omit<ConsumerRoleInput, 'journal'> & {
  name: string;
  makeHandler: (ctx: RoleContext) => ConsumerHandler<InventoryEvent>;
}): Promise<{ groupId: string; runner: ConsumerRunner }> {
  const { clients, registry } = o;
  const { config, logger } = clients;
  const groupId = liveGroupId(config.groupPrefix, o.name);
  const producer: Producer = clients.kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const parked = consumerMetrics(registry).parkedIds;
  const runner = createConsumerRunner({
    kafka: clients.kafka(),
    pool: clients.pool(),
    groupId,
    topics: [o.topic],
    serde: o.serde,
    handler: o.makeHandler({ groupId, deadLetterQueue: createDeadLetterQueue(producer), onParkedChange: (n) => parked.set({ group: groupId }, n) }),
    logger,
    metrics: registry,
    maxBatchSize: config.consumerBatchSize,
    replicationFactor: config.topicReplicationFactor,
    producer,
  });
  try {
    await runner.start();
  } catch (err) {
    await producer.disconnect().catch(() => undefined);
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
