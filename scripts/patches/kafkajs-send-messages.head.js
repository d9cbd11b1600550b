// The first part of kafkajs 2.2.4's src/producer/sendMessages.js as scripts/patch-kafkajs.mjs
// writes it (its error handling, from the catch on, is kept as kafkajs has it).
const { KafkaJSMetadataNotLoaded } = require('../errors')
const { staleMetadata } = require('../protocol/error')
const groupMessagesPerPartition = require('./groupMessagesPerPartition')
const createTopicData = require('./createTopicData')
const responseSerializer = require('./responseSerializer')

const { keys } = Object

/**
 * Sends one batch of messages: one produce request per partition leader, and
 * on a retriable failure retries what is not yet acknowledged.
 *
 * Acknowledgements are kept per topic-partition, not per broker. The original
 * kept them per broker, so when a partition's leader moved to a broker that
 * had already answered for other partitions (a broker killed or restarted
 * between attempts), the retry sent nothing for that partition and the send
 * resolved without it: its messages were lost, and a transaction committed
 * without them (kafkajs #1303). Every request of an attempt is also settled
 * before the next attempt starts, so a request still in flight is never sent
 * again with advanced sequence numbers (duplicates).
 *
 * @param {Object} options
 * @param {import("../../types").Logger} options.logger
 * @param {import("../../types").Cluster} options.cluster
 * @param {ReturnType<import("../../types").ICustomPartitioner>} options.partitioner
 * @param {import("./eosManager").EosManager} options.eosManager
 * @param {import("../retry").Retrier} options.retrier
 */
module.exports = ({ logger, cluster, partitioner, eosManager, retrier }) => {
  return async ({ acks, timeout, compression, topicMessages }) => {
    /** topic -> partition -> the partition's entry of the produce response */
    const acknowledged = new Map()
    const isAcknowledged = (topic, partition) =>
      acknowledged.has(topic) && acknowledged.get(topic).has(String(partition))

    const createProducerRequests = async () => {
      /** nodeId -> [{ topic, partitions, messagesPerPartition }] */
      const dataPerLeader = new Map()

      await cluster.refreshMetadataIfNecessary()

      for (const { topic, messages } of topicMessages) {
        const partitionMetadata = cluster.findTopicPartitionMetadata(topic)

        if (partitionMetadata.length === 0) {
          logger.debug('Producing to topic without metadata', {
            topic,
            targetTopics: Array.from(cluster.targetTopics),
          })

          throw new KafkaJSMetadataNotLoaded('Producing to topic without metadata')
        }

        const messagesPerPartition = groupMessagesPerPartition({
          topic,
          partitionMetadata,
          messages,
          partitioner,
        })

        const partitions = keys(messagesPerPartition).filter(
          partition => !isAcknowledged(topic, partition)
        )
        if (partitions.length === 0) continue
        const partitionsPerLeader = cluster.findLeaderForPartitions(topic, partitions)

        for (const nodeId of keys(partitionsPerLeader)) {
          if (!dataPerLeader.has(nodeId)) dataPerLeader.set(nodeId, [])
          dataPerLeader
            .get(nodeId)
            .push({ topic, partitions: partitionsPerLeader[nodeId], messagesPerPartition })
        }
      }

      return Array.from(dataPerLeader.entries()).map(async ([nodeId, topicDataForBroker]) => {
        const broker = await cluster.findBroker({ nodeId })
        const topicData = createTopicData(topicDataForBroker)

        await eosManager.acquireBrokerLock(broker)
        try {
          if (eosManager.isTransactional()) {
            await eosManager.addPartitionsToTransaction(topicData)
          }

          topicData.forEach(({ topic, partitions }) => {
            partitions.forEach(entry => {
              entry['firstSequence'] = eosManager.getSequence(topic, entry.partition)
              eosManager.updateSequence(topic, entry.partition, entry.messages.length)
            })
          })

          let response
          try {
            response = await broker.produce({
              transactionalId: eosManager.isTransactional()
                ? eosManager.getTransactionalId()
                : undefined,
              producerId: eosManager.getProducerId(),
              producerEpoch: eosManager.getProducerEpoch(),
              acks,
              timeout,
              compression,
              topicData,
            })
          } catch (e) {
            topicData.forEach(({ topic, partitions }) => {
              partitions.forEach(entry => {
                eosManager.updateSequence(topic, entry.partition, -entry.messages.length)
              })
            })
            throw e
          }

          const expectResponse = acks !== 0
          const byPartition = new Map(
            (expectResponse ? responseSerializer(response) : []).map(entry => [
              `${entry.topicName}|${entry.partition}`,
              entry,
            ])
          )
          topicData.forEach(({ topic, partitions }) => {
            if (!acknowledged.has(topic)) acknowledged.set(topic, new Map())
            partitions.forEach(({ partition }) => {
              acknowledged
                .get(topic)
                .set(String(partition), byPartition.get(`${topic}|${partition}`) || null)
            })
          })
        } finally {
          await eosManager.releaseBrokerLock(broker)
        }
      })
    }

    return retrier(async (bail, retryCount, retryTime) => {
      const topics = topicMessages.map(({ topic }) => topic)
      await cluster.addMultipleTargetTopics(topics)

      try {
        const requests = await createProducerRequests()
        const settled = await Promise.allSettled(requests)
        const failed = settled.find(result => result.status === 'rejected')
        if (failed) throw failed.reason
        return Array.from(acknowledged.values())
          .flatMap(partitions => Array.from(partitions.values()))
          .filter(entry => entry !== null)
      } catch (e) {
