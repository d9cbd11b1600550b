import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/shared/logger.js';
import { createBridgeMetrics } from '../../src/source/bridge-metrics.js';
import { createShardObserver } from '../../src/source/shard-observer.js';
import type { ShardEvent } from '../../src/source/shard-worker.js';
import { histogramByStage } from '../helpers/metrics.js';
import { fakeKafka, fakeStream, run } from './shard-fakes.js';

// The bridge's per-stage latency histogram: one observation per record and
// stage (journal → read → produced → committed).
describe('stage latency', () => {
  it('the bridge observes each relayed record once per stage, from the times its transaction carries', async () => {
    const registry = new Registry();
    const observer = createShardObserver({ shardId: 's', table: 't', metrics: createBridgeMetrics(registry), logger: silentLogger() });
    const committed: ShardEvent = {
      type: 'committed', lastSequenceNumber: '9', records: 4, at: 10_300, relayed: 3, deadLettered: [], filtered: [], lastWrittenAt: 9_000,
      timing: { producedAt: 10_250, pages: [{ readAt: 10_000, messages: 3, writtenAts: [9_950, 9_960, 9_970] }, { readAt: 10_200, messages: 0, writtenAts: [] }] },
    };
    observer.observe(committed);
    const h = await histogramByStage(registry, 'cdc_bridge_stage_latency_seconds');
    expect(h.get('journal_to_read')).toMatchObject({ count: 3, sum: expect.closeTo(0.05 + 0.04 + 0.03, 6) });
    expect(h.get('read_to_produced')).toMatchObject({ count: 3, sum: expect.closeTo(3 * 0.25, 6) });
    expect(h.get('produced_to_committed')).toMatchObject({ count: 3, sum: expect.closeTo(3 * 0.05, 6) });
    // Fine buckets below a second: 30 ms falls in le=0.03, not in le=0.02.
    expect(h.get('journal_to_read')!.le.get(0.03)).toBe(1);
    expect(h.get('journal_to_read')!.le.get(0.02)).toBe(0);
  });

  it('a relay observes every record it commits, each once, with times that follow one another', async () => {
    const registry = new Registry();
    const observer = createShardObserver({ shardId: 's', table: 't', metrics: createBridgeMetrics(registry), logger: silentLogger() });
    const pages: { readAt: number; producedAt: number; at: number }[] = [];
    await run(fakeStream(10, { closed: true }).reader, fakeKafka(), {
      observe: (e) => {
        observer.observe(e);
        if (e.type === 'committed' && e.timing) for (const p of e.timing.pages) pages.push({ readAt: p.readAt, producedAt: e.timing.producedAt, at: e.at });
      },
    });
    const h = await histogramByStage(registry, 'cdc_bridge_stage_latency_seconds');
    expect(h.get('read_to_produced')?.count).toBe(10);
    expect(h.get('produced_to_committed')?.count).toBe(10);
    for (const p of pages) expect(p.readAt <= p.producedAt && p.producedAt <= p.at).toBe(true);
  });
});
