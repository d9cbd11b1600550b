import type { LogProducer } from '../log/port.js';
import type { Registry } from 'prom-client';
import { consumerMetrics } from '../consumers/consumer-metrics.js';
import { createDeadLetterQueue, type DeadLetterQueue } from '../consumers/dead-letter.js';
import type { ConsumerHandler } from '../consumers/handler.js';
import { createConsumerRunner, type ConsumerRunner } from '../consumers/runner.js';
import type { InventoryEvent } from '../events/generated/inventory.js';
import type { EventSerde } from '../events/serde.js';
import { liveGroupId } from '../shared/group-names.js';
import type { Clients } from './clients.js';
import { combineSourceJournals, createSourceJournal, type JournalReader, type SourceJournal } from '../consumers/source-journal.js';
import type { ConnectorConfig } from '../source/connector.js';
import { PipelineError } from '../shared/errors.js';

/** What every consumer role is started with (composition root's clients, the process registry, its topics). */
export interface ConsumerRoleInput {
  clients: Clients;
  registry: Registry;
  topics: string[];
  serde: EventSerde<InventoryEvent>;
  /** Every source table, for gap repair. */
  journal: JournalReader;
}

/** The aggregate whose events the consumer roles fold (their catalog, schemas/inventory/). */
const CONSUMED_AGGREGATE = 'inventory';

/**
 * What the consumer roles read: the topic of every connector that relays the
 * inventory aggregate (one bridge may relay several tables, each into its own
 * topic), and those connectors' tables read as one journal for gap repair and
 * integrity checks. The serde decodes any of the topics (decoding goes by the
 * schema id in each record).
 */
export function consumerSources(clients: Clients, connectors: readonly ConnectorConfig[]): {
  topics: string[];
  serde: EventSerde<InventoryEvent>;
  journal: SourceJournal;
} {
  const sources = connectors.filter((c) => c.aggregate === CONSUMED_AGGREGATE);
  if (sources.length === 0) {
    throw new PipelineError('CONFIG', `no connector of CONNECTOR_FILE relays the ${CONSUMED_AGGREGATE} aggregate: the projector and views have nothing to read`);
  }
  const topics = [...new Set(sources.map((c) => c.topic))];
  const journal = combineSourceJournals(
    sources.map((connector) =>
      createSourceJournal({ ddb: clients.ddb(), connector, serde: clients.rawSerde(connector.topic), catalog: clients.catalog(), logger: clients.logger }),
    ),
  );
  return { topics, serde: clients.serde(topics[0]!), journal };
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
  const producer: LogProducer = clients.kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const parked = consumerMetrics(registry).parkedIds;
  const runner = createConsumerRunner({
    kafka: clients.kafka(),
    pool: clients.pool(),
    groupId,
    topics: o.topics,
    serde: o.serde,
    handler: o.makeHandler({ groupId, deadLetterQueue: createDeadLetterQueue(producer), onParkedChange: (n) => parked.set({ group: groupId }, n) }),
    logger,
    metrics: registry,
    maxBatchSize: config.consumerBatchSize,
    concurrency: config.consumerConcurrency,
    sessionTimeoutMs: config.consumerSessionTimeoutMs,
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
