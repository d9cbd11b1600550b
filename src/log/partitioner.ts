import { Partitioners } from 'kafkajs';

/**
 * The partition the bridge's producer picks for a key. kafkajs'
 * DefaultPartitioner is the Java client's: toPositive(murmur2(keyBytes)) %
 * partitions (proved against Kafka's own murmur2 test vectors in
 * test/log/partitioner.unit.test.ts), so Java, librdkafka (murmur2_random)
 * and Go producers writing the same key land on the same partition.
 */
export function partitionForKey(key: string | Buffer, partitions: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({
    partitionId: i,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));
  return partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
}
