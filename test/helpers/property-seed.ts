import fc from 'fast-check';

/**
 * Every property test of a run uses the run's seed (FC_SEED, chosen and
 * printed once in vitest.config.ts), so a failure found in CI repeats exactly
 * with `FC_SEED=<seed> npx vitest run <file>`; fast-check still prints the
 * seed and path of the counterexample on failure. A test that passes its own
 * `seed` keeps it.
 */
const seed = Number(process.env.FC_SEED);
if (Number.isSafeInteger(seed)) fc.configureGlobal({ seed });
