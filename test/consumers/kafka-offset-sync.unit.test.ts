import { describe, expect, it } from 'vitest';
import { planKafkaCommits } from '../../src/consumers/kafka-offset-sync.js';

const m = (entries: Record<string, number>) => new Map(Object.entries(entries));

describe('planKafkaCommits: which stored offsets are copied to Kafka', () => {
  const owned = { t: [0, 1, 2, 3, 4] };

  it('brings stale or missing Kafka offsets up to the stored ones; leaves equal ones and partitions with nothing stored', () => {
    const plan = planKafkaCommits({
      owned,
      committed: m({ 't/0': 2646, 't/1': 500, 't/3': 10 }),
      stored: m({ 't/0': 3780, 't/1': 500, 't/2': 42 }),
      batchCommitted: new Map(),
    });
    expect(plan).toEqual([
      { topic: 't', partition: 0, offset: 3780, from: 2646, backwards: false },
      { topic: 't', partition: 2, offset: 42, from: null, backwards: false },
    ]);
  });

  it('follows the truth back when PostgreSQL, read after Kafka, is behind it (restored database, hand reset)', () => {
    const plan = planKafkaCommits({ owned, committed: m({ 't/0': 900 }), stored: m({ 't/0': 700 }), batchCommitted: new Map() });
    expect(plan).toEqual([{ topic: 't', partition: 0, offset: 700, from: 900, backwards: true }]);
  });

  it("never commits below this member's own batch commit made since the reads", () => {
    // Kafka read 100, then a batch committed 130 to PostgreSQL and Kafka, then PostgreSQL read... 120 (an older read).
    const plan = planKafkaCommits({ owned, committed: m({ 't/0': 100, 't/1': 100 }), stored: m({ 't/0': 120, 't/1': 120 }), batchCommitted: m({ 't/0': 130, 't/1': 110 }) });
    expect(plan).toEqual([{ topic: 't', partition: 1, offset: 120, from: 100, backwards: false }]);
  });

  it('only the partitions this member owns', () => {
    expect(planKafkaCommits({ owned: { t: [1] }, committed: new Map(), stored: m({ 't/0': 5, 't/1': 6 }), batchCommitted: new Map() })).toEqual([
      { topic: 't', partition: 1, offset: 6, from: null, backwards: false },
    ]);
  });
});
