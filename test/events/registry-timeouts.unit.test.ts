import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/events/registry.js';
import { createSchemaStore } from '../../src/events/schema-store.js';
import { isRetriable } from '../../src/shared/errors.js';
import { closedPort, startBlackHole } from '../helpers/black-hole.js';

/**
 * SCHEMA_REGISTRY_TIMEOUT_MS, and outages classified as outages: a registry
 * that never answers, or refuses connections, must fail every call in bounded
 * time with a retriable RegistryError (the bridge and consumers retry it; a
 * 4xx-looking refusal would be dead-lettered or stop a shard).
 */
describe('schema store against a registry that is down', () => {
  let hole: Awaited<ReturnType<typeof startBlackHole>>;
  beforeAll(async () => {
    hole = await startBlackHole();
  });
  afterAll(async () => {
    await hole.close();
  });

  const calls = (store: ReturnType<typeof createSchemaStore>) => ({
    schemaById: () => store.schemaById(1),
    idOf: () => store.idOf('t-com.example.A', 1),
    versions: () => store.versions('t-com.example.A'),
    register: () => store.register('t-com.example.A', { type: 'record', name: 'A', fields: [] }),
  });

  it('never answering: each call fails within its bound as a retriable RegistryError', async () => {
    const store = createSchemaStore({ url: `${hole.url}/apis/ccompat/v7`, username: '', password: '', timeoutMs: 300 });
    for (const [name, call] of Object.entries(calls(store))) {
      const started = performance.now();
      const err = await call().catch((e: unknown) => e);
      const ms = performance.now() - started;
      expect(err, name).toBeInstanceOf(RegistryError);
      expect(isRetriable(err), name).toBe(true);
      expect((err as Error).message, name).toContain('no answer within 300 ms');
      // register retries retriable failures itself (8 attempts, ≤ 1 s apart).
      expect(ms, name).toBeLessThan(name === 'register' ? 15_000 : 3_300);
    }
  }, 60_000);

  it('refusing connections: retriable too (not an HTTP 400)', async () => {
    const store = createSchemaStore({ url: `http://127.0.0.1:${await closedPort()}/apis/ccompat/v7`, username: '', password: '', timeoutMs: 1_000 });
    for (const [name, call] of Object.entries(calls(store))) {
      const err = await call().catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(RegistryError);
      expect((err as RegistryError).status, name).toBeUndefined();
      expect(isRetriable(err), name).toBe(true);
      expect((err as Error).message, name).toMatch(/ECONNREFUSED/);
    }
  }, 60_000);
});
