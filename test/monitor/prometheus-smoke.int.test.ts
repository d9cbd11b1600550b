import { Counter, Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { startMetricsServer, type MetricsServer } from '../../src/monitor/metrics-server.js';
import { announceScrapeTarget } from '../../src/monitor/prometheus-target.js';
import { config, eventually, uniqueName } from '../helpers/stack.js';

describe('Prometheus scrapes a pipeline metrics endpoint (real server)', () => {
  let server: MetricsServer | undefined;
  let withdraw: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await withdraw?.();
    await server?.close();
  });

  it('finds the endpoint through file_sd and stores its series', async () => {
    const registry = new Registry();
    const run = uniqueName('smoke').replaceAll('-', '_');
    const counter = new Counter({ name: 'smoke_test_events_total', help: 'smoke', labelNames: ['run'], registers: [registry] });
    counter.inc({ run }, 42);
    server = await startMetricsServer(registry, { port: 0 });
    withdraw = await announceScrapeTarget(config.prometheusTargetsDir, run, `127.0.0.1:${server.port}`, { role: 'smoke' });

    const value = await eventually(async () => {
      const q = encodeURIComponent(`smoke_test_events_total{run="${run}"}`);
      const res = await fetch(`${config.prometheusUrl}/api/v1/query?query=${q}`);
      const body = (await res.json()) as { data: { result: { value: [number, string]; metric: Record<string, string> }[] } };
      const r = body.data.result[0];
      return r ? { value: r.value[1], labels: r.metric } : undefined;
    }, 60_000, 500);
    expect(value.value).toBe('42');
    expect(value.labels.role).toBe('smoke');
    expect(value.labels.job).toBe('pipeline');
  });
});
