import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { startMetricsServer } from '../../src/monitor/metrics-server.js';

describe('the metrics port of a pipeline process', () => {
  it('serves /metrics, /healthz (alive) and /readyz (200, or 503 naming what is not ready) on the interface asked for', async () => {
    let ready = { ready: false, consumers: { 'inventory-projector': { state: 'retrying' } } };
    const server = await startMetricsServer(new Registry(), { port: 0, host: '127.0.0.1', ready: () => ready });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      expect((await fetch(`${base}/metrics`)).status).toBe(200);
      const health = await fetch(`${base}/healthz`);
      expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
      const notReady = await fetch(`${base}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toMatchObject({ consumers: { 'inventory-projector': { state: 'retrying' } } });
      ready = { ready: true, consumers: { 'inventory-projector': { state: 'running' } } };
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect((await fetch(`${base}/nothing`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
