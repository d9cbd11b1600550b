import { defineConfig } from 'vitest/config';

// Test kinds are selected by file suffix: *.unit.test.ts (no servers),
// *.int.test.ts (real servers of the local stack), *.e2e.test.ts (whole pipeline).
const env = { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };

export default defineConfig({
  test: {
    pool: 'forks',
    // Two cores and five JVM/PG servers: more parallel files only add contention.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    projects: [
      { test: { name: 'unit', include: ['test/**/*.unit.test.ts'], env } },
      {
        test: {
          name: 'int',
          include: ['test/**/*.int.test.ts'],
          env,
          setupFiles: ['test/helpers/cleanup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e.test.ts'],
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
