/**
 * The benchmark charts, rendered by a charting library (Vega-Lite compiled to
 * Vega, Vega's SVG renderer in Node): real axes with ticks and units, the
 * target drawn on each measure's own scale; the relays side by side. Used by run-all.ts; run alone it
 * redraws the charts from the last results without re-running a benchmark:
 *
 *   node --import tsx bench/charts.ts [bench/results]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface TargetRow {
  what: string;
  measured: number | undefined;
  target: number;
  unit: string;
  higherIsBetter: boolean;
}

interface E2eResult {
  offeredRate?: number;
  acceptedRate?: number;
  p50Ms?: number;
  p99Ms?: number;
  commitP50Ms?: number;
  commitP99Ms?: number;
}

const unitTitle = (unit: string) => (unit === '×' ? 'ratio (×)' : unit === 'ms' ? 'milliseconds' : unit);
const met = (r: TargetRow) => r.measured !== undefined && (r.higherIsBetter ? r.measured >= r.target : r.measured <= r.target);

async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return `${svg}\n`;
}

/**
 * One panel per measure, each on its own axis in its own unit: the measured
 * value as a bar (green when the target is met, red when not), the target as
 * a dashed rule labelled with its direction (≥ higher is better, ≤ lower is
 * better). A lower-is-better bar that ends left of its rule meets the target.
 */
export function ratioChartSpec(rows: TargetRow[]): TopLevelSpec {
  const panels = rows.map((r) => {
    const max = Math.max(r.measured ?? 0, r.target) * 1.25;
    const data = [{ measured: r.measured ?? 0, target: r.target, status: r.measured === undefined ? 'not measured' : met(r) ? 'target met' : 'target missed' }];
    const label = `${r.measured === undefined ? 'n/a' : `${r.measured} ${r.unit}`}`;
    return {
      title: { text: `${r.what} — ${r.higherIsBetter ? 'higher' : 'lower'} is better`, anchor: 'start' as const, fontSize: 12, fontWeight: 'normal' as const },
      width: 560,
      height: 22,
      data: { values: data },
      layer: [
        {
          mark: { type: 'bar' as const, height: 16 },
          encoding: {
            x: { field: 'measured', type: 'quantitative' as const, scale: { domain: [0, max], nice: false }, title: unitTitle(r.unit), axis: { tickCount: 6 } },
            color: {
              field: 'status',
              type: 'nominal' as const,
              scale: { domain: ['target met', 'target missed', 'not measured'], range: ['#3a7d44', '#c8453a', '#999999'] },
              legend: null,
            },
          },
        },
        {
          mark: { type: 'rule' as const, strokeDash: [4, 3], strokeWidth: 2, color: '#222' },
          encoding: { x: { field: 'target', type: 'quantitative' as const } },
        },
        {
          mark: { type: 'text' as const, align: 'left' as const, dx: 4, dy: -14, fontSize: 10, color: '#222' },
          encoding: { x: { field: 'target', type: 'quantitative' as const }, text: { value: `target ${r.higherIsBetter ? '≥' : '≤'} ${r.target} ${r.unit}` } },
        },
        {
          mark: { type: 'text' as const, align: 'left' as const, dx: 4, fontSize: 11, fontWeight: 'bold' as const },
          encoding: { x: { field: 'measured', type: 'quantitative' as const }, text: { value: label } },
        },
      ],
    };
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Measured against target (green: met, red: missed; dashed: the target)', anchor: 'start', fontSize: 14 },
    background: 'white',
    padding: 12,
    vconcat: panels,
    spacing: 22,
    config: { font: 'sans-serif', view: { stroke: null } },
  } as TopLevelSpec;
}

/** Latency percentiles against the offered rate (log axis), the UP_TO_DATE bound (1 s) marked; accepted rate as a second panel. */
export function latencyChartSpec(results: E2eResult[]): TopLevelSpec {
  const series: [keyof E2eResult, string][] = [
    ['p50Ms', 'probe p50'],
    ['p99Ms', 'probe p99'],
    ['commitP50Ms', 'commit p50'],
    ['commitP99Ms', 'commit p99'],
  ];
  const points = results.flatMap((r) =>
    series.filter(([k]) => typeof r[k] === 'number').map(([k, name]) => ({ offered: r.offeredRate, ms: r[k], series: name })),
  );
  const rates = results.map((r) => ({ offered: r.offeredRate, accepted: Math.round(r.acceptedRate ?? 0) }));
  const x = { field: 'offered', type: 'quantitative' as const, scale: { type: 'log' as const }, title: 'offered rate (events/s, log scale)', axis: { values: rates.map((r) => r.offered) } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Journal write → visible (probe: through the API; commit: in PostgreSQL)', anchor: 'start', fontSize: 14 },
    background: 'white',
    padding: 12,
    config: { font: 'sans-serif' },
    vconcat: [
      {
        width: 560,
        height: 260,
        layer: [
          {
            data: { values: points },
            mark: { type: 'line', point: true },
            encoding: {
              x,
              y: { field: 'ms', type: 'quantitative', title: 'latency (ms)', scale: { domainMin: 0 } },
              color: { field: 'series', type: 'nominal', title: null, scale: { domain: series.map(([, n]) => n), range: ['#3b6fb6', '#c8453a', '#7fa6d9', '#e8a09a'] } },
              strokeDash: { field: 'series', type: 'nominal', title: null, scale: { domain: series.map(([, n]) => n), range: [[1, 0], [1, 0], [5, 3], [5, 3]] } },
            },
          },
          { data: { values: [{ ms: 1000 }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#222' }, encoding: { y: { field: 'ms', type: 'quantitative' } } },
          {
            data: { values: [{ ms: 1000 }] },
            mark: { type: 'text', align: 'left', dy: -6, x: 4, fontSize: 10 },
            encoding: { y: { field: 'ms', type: 'quantitative' }, text: { value: 'UP_TO_DATE bound: 1 s' } },
          },
        ],
      },
      {
        width: 560,
        height: 90,
        title: { text: 'events/s the journal accepted (DynamoDB Local is the limit here)', anchor: 'start', fontSize: 11, fontWeight: 'normal' },
        data: { values: rates },
        layer: [
          { mark: { type: 'bar', width: 14, color: '#888' }, encoding: { x, y: { field: 'accepted', type: 'quantitative', title: 'accepted ev/s' } } },
          { mark: { type: 'text', dy: -6, fontSize: 10 }, encoding: { x, y: { field: 'accepted', type: 'quantitative' }, text: { field: 'accepted', type: 'quantitative' } } },
        ],
      },
    ],
  } as TopLevelSpec;
}

interface RelaySummary {
  medianRecordsPerS?: number | null;
  medianCpuSecondsPerMillion?: number | null;
}

interface RelayRow {
  relay: string;
  rate: number;
  cpu: number;
  ours: string;
}

/** One horizontal bar per relay of one measure, its value printed at the bar's end; `extra` layers go on top. */
function relayPanel(rows: RelayRow[], field: 'rate' | 'cpu', title: string, format: string, extra: object[] = []) {
  const y = { field: 'relay', type: 'nominal' as const, sort: null, title: null };
  const color = { field: 'ours', type: 'nominal' as const, title: null, scale: { domain: ['this bridge', 'Redpanda Connect'], range: ['#3b6fb6', '#999999'] } };
  return {
    width: 520,
    height: { step: 22 },
    data: { values: rows },
    layer: [
      { mark: { type: 'bar' }, encoding: { y, x: { field, type: 'quantitative', title }, color } },
      { mark: { type: 'text', align: 'left', dx: 4 }, encoding: { y, x: { field, type: 'quantitative' }, text: { field, type: 'quantitative', format } } },
      ...extra,
    ],
  };
}

/** Relays side by side: records/s (bars) and CPU seconds per million records (second panel), one bar per case. */
export function relayChartSpec(summary: Record<string, RelaySummary>, ceiling: number | undefined): TopLevelSpec {
  const rows: RelayRow[] = Object.entries(summary).map(([relay, c]) => ({
    relay,
    rate: c.medianRecordsPerS ?? 0,
    cpu: c.medianCpuSecondsPerMillion ?? 0,
    ours: relay.startsWith('project-') ? 'this bridge' : 'Redpanda Connect',
  }));
  const ceilingLayers = ceiling
    ? [
        { data: { values: [{ rate: ceiling }] }, mark: { type: 'rule' as const, strokeDash: [4, 3], color: '#222' }, encoding: { x: { field: 'rate', type: 'quantitative' as const } } },
        {
          data: { values: [{ rate: ceiling }] },
          mark: { type: 'text' as const, align: 'right' as const, dx: -4, y: -6, fontSize: 10 },
          encoding: { x: { field: 'rate', type: 'quantitative' as const }, text: { value: `plain GetRecords loop ${Math.round(ceiling)}/s` } },
        },
      ]
    : [];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'DynamoDB Streams → Kafka relays, side by side in one run (medians)', anchor: 'start', fontSize: 14 },
    background: 'white',
    padding: 12,
    config: { font: 'sans-serif' },
    vconcat: [
      relayPanel(rows, 'rate', 'records/s (higher is better)', ',.0f', ceilingLayers),
      relayPanel(rows, 'cpu', 'CPU seconds per million records (lower is better)', '.1f'),
    ],
  } as TopLevelSpec;
}

export const ratioChart = (rows: TargetRow[]) => toSvg(ratioChartSpec(rows));

export async function relayChart(peers: { skipped?: boolean; summary?: Record<string, RelaySummary>; ceilingRecordsPerS?: { median?: number } } | null | undefined): Promise<string> {
  if (!peers || peers.skipped || !peers.summary) {
    return toSvg({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: 'relay comparison skipped (peers not built)', mark: 'point', data: { values: [] } });
  }
  return toSvg(relayChartSpec(peers.summary, peers.ceilingRecordsPerS?.median));
}

export async function latencyChart(e2e: { results?: E2eResult[] } | null | undefined): Promise<string> {
  const results = (e2e?.results ?? []).filter((r) => typeof r.p50Ms === 'number' && typeof r.offeredRate === 'number');
  if (results.length === 0) return toSvg({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: 'no end-to-end results', mark: 'point', data: { values: [] } });
  return toSvg(latencyChartSpec(results));
}

/** Redraws the charts of a results folder from its report.json. */
export async function redraw(dir: string): Promise<void> {
  const report = JSON.parse(readFileSync(`${dir}/report.json`, 'utf8')) as {
    targets: TargetRow[];
    e2e: { results?: E2eResult[] } | null;
    raw?: { 'bridge-peers'?: Parameters<typeof relayChart>[0] };
  };
  writeFileSync(`${dir}/ratios.svg`, await ratioChart(report.targets));
  writeFileSync(`${dir}/e2e-latency.svg`, await latencyChart(report.e2e));
  writeFileSync(`${dir}/relays.svg`, await relayChart(report.raw?.['bridge-peers']));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await redraw(process.argv[2] ?? 'bench/results');
}
