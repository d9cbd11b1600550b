import type { Admin, Consumer, ConsumerConfig, EachBatchPayload, IHeaders, KafkaMessage, Producer, ProducerConfig, AdminConfig } from 'kafkajs';

/**
 * The Kafka client as the rest of the pipeline sees it: only the calls it
 * makes. Only src/log/ imports the client library; everything else imports
 * these names. The shapes are the KafkaJS API's (kafkajs 2.2.4, and the
 * KafkaJS-compatible API of @confluentinc/kafka-javascript), narrowed to what
 * is used, so that
 * - a client is checked against exactly what the pipeline needs when it is
 *   wired (src/log/kafka.ts), and a method nobody uses cannot creep in
 *   unnoticed;
 * - what the client library cannot do is done here, once: reading committed
 *   records at an offset (record-fetcher.ts), topic IDs (topic-ids.ts),
 *   per-partition produce acknowledgements (the send patch), the checks of
 *   its fixes at start-up (kafkajs-patches.ts).
 */

/** The admin calls the pipeline makes: topics, offsets, groups, records deletion, configs. */
export type LogAdmin = Pick<
  Admin,
  | 'connect'
  | 'disconnect'
  | 'listTopics'
  | 'createTopics'
  | 'deleteTopics'
  | 'fetchTopicMetadata'
  | 'fetchTopicOffsets'
  | 'fetchTopicOffsetsByTimestamp'
  | 'fetchOffsets'
  | 'setOffsets'
  | 'describeGroups'
  | 'listGroups'
  | 'deleteGroups'
  | 'deleteTopicRecords'
  | 'describeCluster'
  | 'describeConfigs'
>;

/** A plain (idempotent) producer: dead letters, replays. The bridge's transactional sink is relay-producer.ts. */
export type LogProducer = Pick<Producer, 'connect' | 'disconnect' | 'send' | 'sendBatch'>;

/** The group consumer the runner drives: assignment and crash events, pause/seek/resume per partition, batches, commits. */
export type GroupConsumer = Pick<Consumer, 'connect' | 'disconnect' | 'subscribe' | 'run' | 'pause' | 'resume' | 'seek' | 'commitOffsets' | 'on' | 'events'>;

/** One fetched batch of a partition, as the runner's eachBatch receives it. */
export type BatchPayload = EachBatchPayload;

/** A record as consumed. */
export type LogMessage = KafkaMessage;

/** Record headers (a key may repeat). */
export type LogHeaders = IHeaders;

export type { AdminConfig, ConsumerConfig, ProducerConfig };

/** The client: one per process and purpose (src/log/kafka.ts builds it). */
export interface LogClient {
  admin(config?: AdminConfig): LogAdmin;
  producer(config?: ProducerConfig): LogProducer;
  consumer(config: ConsumerConfig): GroupConsumer;
}
