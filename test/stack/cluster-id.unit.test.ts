import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * The KRaft cluster id `npm run stack -- up` formats Kafka's storage with.
 * One start in 64 drew an id beginning with '-', which kafka-storage's
 * argument parser took for a flag: CI failed 35 s in, before any test ran.
 */
describe('new_cluster_id (scripts/stack/kafka/cluster-id.sh)', () => {
  const draw = (n: number): string[] =>
    execFileSync('bash', ['-c', `source scripts/stack/kafka/cluster-id.sh; for ((i = 0; i < ${n}; i++)); do new_cluster_id; done`], {
      encoding: 'utf8',
    })
      .trim()
      .split('\n');

  it('never starts with "-", is 22 URL-safe base64 characters and differs every time', () => {
    // 600 draws: an unguarded generator gives a leading '-' in 1 of 64, so
    // the chance that this passes against one is (63/64)^600 < 1e-4.
    const ids = draw(600);
    expect(ids).toHaveLength(600);
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    }
    expect(new Set(ids).size).toBe(ids.length);
  }, 30_000);
});
