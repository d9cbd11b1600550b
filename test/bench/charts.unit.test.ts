import { describe, expect, it } from 'vitest';
import { latencyChart, ratioChart } from '../../bench/charts.js';

describe('benchmark charts (Vega-Lite → SVG)', () => {
  it('draws each measure on its own axis in its unit, with the target and its direction', async () => {
    const svg = await ratioChart([
      { what: 'lag monitor poll', measured: 31.5, target: 50, unit: 'ms', higherIsBetter: false },
      { what: 'projector / naive', measured: 28.65, target: 20, unit: '×', higherIsBetter: true },
      { what: 'api p99', measured: 39, target: 20, unit: 'ms', higherIsBetter: false },
    ]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('lag monitor poll — lower is better');
    expect(svg).toContain('target ≤ 50 ms');
    expect(svg).toContain('target ≥ 20 ×');
    expect(svg).toContain('milliseconds');
    expect(svg).toContain('ratio (×)');
    expect(svg).toContain('#3a7d44'); // met
    expect(svg).toContain('#c8453a'); // missed (39 ms against ≤ 20 ms)
    expect(svg.match(/role-axis-label/g)?.length ?? 0).toBeGreaterThanOrEqual(3); // tick labels on every axis
  });

  it('draws latency against offered rate with the 1 s bound and a legend', async () => {
    const svg = await latencyChart({
      results: [
        { offeredRate: 200, acceptedRate: 140, p50Ms: 410, p99Ms: 777, commitP50Ms: 433, commitP99Ms: 1408 },
        { offeredRate: 1000, acceptedRate: 94, p50Ms: 345, p99Ms: 786, commitP50Ms: 484, commitP99Ms: 1000 },
      ],
    });
    expect(svg).toContain('UP_TO_DATE bound: 1 s');
    expect(svg).toContain('offered rate (events/s, log scale)');
    expect(svg).toContain('role-legend');
    expect(svg).toContain('commit p99');
  });
});
