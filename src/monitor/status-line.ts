import type { StatusLine } from '../shared/logger.js';
import { scrapeTarget, sumOf, type Sample } from './scrape.js';

/** The counters and gauges one status line is made of, read from a process's own /metrics. */
export interface StatusLineReading {
  atMs: number;
  written: number | undefined;
  relayed: number;
  applied: Map<string, number>;
  lag: number | undefined;
  freshnessSeconds: number | undefined;
  deadLettered: number;
}

export function readingOf(samples: readonly Sample[], atMs: number, written: number | undefined): StatusLineReading {
  const applied = new Map<string, number>();
  let freshness: number | undefined;
  for (const s of samples) {
    if (s.name === 'consumer_events_total' && s.labels.outcome === 'applied') {
      const g = s.labels.group ?? '';
      applied.set(g, (applied.get(g) ?? 0) + s.value);
    }
    if (s.name === 'pipeline_view_freshness_seconds') freshness = Math.max(freshness ?? 0, s.value);
  }
  // The lag of the groups this process consumes (the monitor may watch every group of the cluster).
  let lag: number | undefined;
  for (const s of samples) {
    if (s.name === 'kafka_consumergroup_group_sum_lag' && applied.has(s.labels.group ?? '')) lag = (lag ?? 0) + s.value;
  }
  return {
    atMs,
    written,
    relayed: sumOf(samples, 'cdc_bridge_records_relayed_total'),
    applied,
    lag,
    freshnessSeconds: freshness,
    deadLettered: sumOf(samples, 'cdc_bridge_records_dead_lettered_total') + sumOf(samples, 'consumer_events_total', { outcome: 'dead_lettered' }),
  };
}

const rate = (now: number, before: number, seconds: number) => `${Math.max(0, Math.round((now - before) / seconds))}/s`;

/**
 * One line: events written/s (the workload), relayed/s (bridge), applied/s
 * per group (prefix removed), the live groups' summed lag, the stalest view's
 * freshness, and the dead letters this process wrote. Rates are over the
 * interval since `prev`; without one they are left out.
 */
export function formatStatusLine(cur: StatusLineReading, prev: StatusLineReading | undefined, groupPrefix: string): string {
  const dt = prev ? Math.max(0.001, (cur.atMs - prev.atMs) / 1000) : 0;
  const parts: string[] = [new Date(cur.atMs).toISOString().slice(11, 19)];
  if (prev) {
    if (cur.written !== undefined && prev.written !== undefined) parts.push(`written ${rate(cur.written, prev.written, dt)}`);
    parts.push(`relayed ${rate(cur.relayed, prev.relayed, dt)}`);
    const applied = [...cur.applied].map(([g, n]) => `${g.startsWith(groupPrefix) ? g.slice(groupPrefix.length) : g} ${rate(n, prev.applied.get(g) ?? 0, dt)}`);
    if (applied.length > 0) parts.push(`applied ${applied.join(', ')}`);
  }
  parts.push(`lag ${cur.lag ?? '-'}`);
  parts.push(`freshness ${cur.freshnessSeconds === undefined ? '-' : `${cur.freshnessSeconds.toFixed(1)} s`}`);
  parts.push(`DLQ ${cur.deadLettered}`);
  return `▸ ${parts.join(' · ')}`;
}

/**
 * Refreshes `line` every `intervalMs` from the process's own /metrics
 * (127.0.0.1:`metricsPort`): what `demo` shows on a terminal under the log
 * lines. A failed read keeps the previous line.
 */
export function startStatusLine(o: {
  line: StatusLine;
  metricsPort: number;
  groupPrefix: string;
  intervalMs?: number;
  written?: () => number;
}): { stop(): void } {
  let prev: StatusLineReading | undefined;
  let busy = false;
  let stopped = false;
  const tick = async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      const r = await scrapeTarget({ target: `127.0.0.1:${o.metricsPort}`, labels: {}, file: '' });
      if (!r.up || stopped) return;
      const cur = readingOf(r.samples, Date.now(), o.written?.());
      o.line.set(formatStatusLine(cur, prev, o.groupPrefix));
      prev = cur;
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), o.intervalMs ?? 3000);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
      o.line.clear();
    },
  };
}
