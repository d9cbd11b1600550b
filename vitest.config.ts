import { randomInt } from 'node:crypto';
import { defineConfig } from 'vitest/config';

// Test kinds are selected by file suffix: *.unit.test.ts (no servers),
// *.int.test.ts (real servers of the local stack), *.e2e.test.ts (whole pipeline).
// One fast-check seed per run, printed, so a property that failed in CI repeats with FC_SEED=<seed>
// (test/helpers/property-seed.ts applies it in every test file).
const fcSeed = process.env.FC_SEED ?? String(randomInt(0, 2 ** 31 - 1));
process.env.FC_SEED = fcSeed;
// eslint-disable-next-line no-console -- the run's seed belongs in its log
console.log(`fast-check seed: ${fcSeed} (repeat a run with FC_SEED=${fcSeed})`);
const FAULT_SUITE = 'test/e2e/faults.e2e.test.ts';
const env = { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', FC_SEED: fcSeed };

export default defineConfig({
  test: {
    pool: 'forks',
    // Two cores and five JVM/PG servers: more parallel files only add contention.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    projects: [
      { test: { name: 'unit', include: ['test/**/*.unit.test.ts'], env, setupFiles: ['test/helpers/property-seed.ts'] } },
      {
        test: {
          name: 'int',
          include: ['test/**/*.int.test.ts'],
          env,
          setupFiles: ['test/helpers/cleanup.ts', 'test/helpers/property-seed.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        // The whole pipeline, roles as processes; two files at a time (they restart no shared server).
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e.test.ts'],
          exclude: [FAULT_SUITE],
          env,
          setupFiles: ['test/helpers/cleanup.ts'],
          testTimeout: 600_000,
          hookTimeout: 300_000,
        },
      },
      {
        // The fault suite restarts and kills the shared servers: alone, after everything else.
        test: {
          name: 'faults',
          include: [FAULT_SUITE],
          env,
          setupFiles: ['test/helpers/cleanup.ts'],
          testTimeout: 600_000,
          hookTimeout: 300_000,
          poolOptions: { forks: { singleFork: true } },
        },
      },
      {
        // Kafka client conformance on a 3-broker cluster: broker kills, coordinator failover. Run by
        // scripts/fault-run.sh when the stack has 3 brokers (it restarts brokers: never beside other suites).
        test: {
          name: 'cluster',
          include: ['test/**/*.cluster.test.ts'],
          env,
          setupFiles: ['test/helpers/cleanup.ts'],
          testTimeout: 600_000,
          hookTimeout: 300_000,
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
