import { describe, expect, it } from 'vitest';
import { replicationWarnings, type TopicReplication } from '../../src/log/topics.js';

/**
 * The rule `setup` and `run` apply to every topic of the pipeline: on a
 * cluster of 3 or more brokers, a topic with fewer than 3 replicas, or not
 * more replicas than its min.insync.replicas, is named with the reason.
 */
const topic = (name: string, replicationFactor: number, minInsyncReplicas?: number): TopicReplication => ({ topic: name, replicationFactor, minInsyncReplicas });

describe('replicationWarnings', () => {
  it('a single broker or two: nothing to warn about, they cannot do better', () => {
    for (const brokers of [1, 2]) {
      expect(replicationWarnings({ brokers, topics: [topic('a', 1, 1), topic('b', 2, 2)] })).toEqual([]);
    }
  });

  it('three brokers, RF 3, min ISR 2 (the recommended shape): no warning', () => {
    expect(replicationWarnings({ brokers: 3, topics: [topic('inventory.events', 3, 2), topic('ckpt', 3, 2)] })).toEqual([]);
  });

  it('three brokers, RF 1 (the old default): named, with the fix', () => {
    const [w, ...rest] = replicationWarnings({ brokers: 3, topics: [topic('inventory.events', 1, 1), topic('ok', 3, 2)] });
    expect(rest).toEqual([]);
    expect(w).toContain('inventory.events: 1 replica(s) on a cluster of 3 brokers');
    expect(w).toContain('fewer than 3');
    expect(w).toContain('TOPIC_REPLICATION_FACTOR');
    expect(w).toContain('kafka-reassign-partitions');
  });

  it('RF 2 with min ISR 2: both reasons', () => {
    const [w] = replicationWarnings({ brokers: 5, topics: [topic('t', 2, 2)] });
    expect(w).toContain('fewer than 3');
    expect(w).toContain('not above min.insync.replicas=2');
  });

  it('RF 3 with min ISR 3 on five brokers: a broker loss stops writes', () => {
    const [w, ...rest] = replicationWarnings({ brokers: 5, topics: [topic('t', 3, 3)] });
    expect(rest).toEqual([]);
    expect(w).not.toContain('fewer than 3');
    expect(w).toContain('not above min.insync.replicas=3');
  });

  it('RF 4 with min ISR 3, and an unknown min ISR with RF 3: fine', () => {
    expect(replicationWarnings({ brokers: 6, topics: [topic('a', 4, 3), topic('b', 3)] })).toEqual([]);
  });
});
