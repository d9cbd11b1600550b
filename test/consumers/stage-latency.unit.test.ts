import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { consumerObserver } from '../../src/consumers/consumer-observer.js';
import { emptyOutcome } from '../../src/consumers/handler.js';
import { silentLogger } from '../../src/shared/logger.js';
import { histogramByStage } from '../helpers/metrics.js';

// A consumer group's per-stage latency histogram: one observation per record
// and stage (produced → consumed → committed in PostgreSQL).
describe('consumer stage latency', () => {
  it('a consumer group observes produced → consumed from the records\' Kafka timestamps and consumed → committed per record', async () => {
    const registry = new Registry();
    const observe = consumerObserver({ registry, groupId: 'g', views: ['v'], logger: silentLogger() });
    observe({
      type: 'applied', topic: 't', partition: 0, records: 2, outcome: { ...emptyOutcome(), applied: 2, appliedSourceTimes: [900, 950] }, committedAt: 1_100,
      deadLettered: 0, durationMs: 50, transactionMs: 40, canaryTimes: [], consumedAt: 1_050, producedAts: [1_000, 1_020],
    });
    const h = await histogramByStage(registry, 'consumer_stage_latency_seconds');
    expect(h.get('produced_to_consumed')).toMatchObject({ count: 2, sum: expect.closeTo(0.05 + 0.03, 6) });
    expect(h.get('consumed_to_committed')).toMatchObject({ count: 2, sum: expect.closeTo(2 * 0.05, 6) });
  });
});
