import { describe, expect, it } from 'vitest';
import { partitionForKey } from '../../src/log/partitioner.js';

// Apache Kafka clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java,
// testMurmur2: Utils.murmur2(bytes) for known inputs (Java int results).
const javaMurmur2Vectors: [Buffer, number][] = [
  [Buffer.from('21'), -973932308],
  [Buffer.from('foobar'), -790332482],
  [Buffer.from('a-little-bit-long-string'), -985981536],
  [Buffer.from('a-little-bit-longer-string'), -1486304829],
  [Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'), -58897971],
  [Buffer.from([0x61, 0x62, 0x63]), 479470107],
];
// Akka's Murmur2Spec, "expected correct hash values from the kafka murmur2 impl".
const akkaVectors: [Buffer, number][] = [
  [Buffer.from('1'), -1993445489],
  [Buffer.from('12'), 126087238],
  [Buffer.from('123'), -267702483],
  [Buffer.from('1234'), -1614185708],
  [Buffer.from('12345'), -1188365604],
];

/** Java's DefaultPartitioner / BuiltInPartitioner.partitionForKey: toPositive(murmur2(key)) % n. */
const javaPartition = (hash: number, n: number) => (hash & 0x7fffffff) % n;

describe('kafkajs DefaultPartitioner is the Java client murmur2 partitioner', () => {
  it.each([...javaMurmur2Vectors, ...akkaVectors])('key %s', (key, hash) => {
    // Agreement modulo every n in 1..1000 pins toPositive(hash) down exactly
    // (lcm(1..1000) is far above 2^31), so this is the hash itself, not a coincidence of small moduli.
    for (let n = 1; n <= 1000; n++) expect(partitionForKey(key, n)).toBe(javaPartition(hash, n));
  });

  it('UTF-8 string keys hash their bytes', () => {
    expect(partitionForKey('foobar', 6)).toBe(javaPartition(-790332482, 6));
    expect(partitionForKey('inventory-INV-000123', 12)).toBe(partitionForKey(Buffer.from('inventory-INV-000123', 'utf8'), 12));
  });
});
