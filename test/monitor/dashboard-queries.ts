import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { dashboards } from '../../dashboards/src/index.js';

/** Every PromQL query of the generated dashboards and of the alert rules, with where it comes from. */
export interface NamedQuery {
  source: string;
  expr: string;
}

interface PanelJson {
  title?: string;
  type?: string;
  targets?: { expr?: string }[];
  panels?: PanelJson[];
}

export async function dashboardQueries(file: string): Promise<NamedQuery[]> {
  const json = JSON.parse(await readFile(path.resolve('dashboards/generated', file), 'utf8')) as { title: string; panels: PanelJson[] };
  const out: NamedQuery[] = [];
  const walk = (panels: PanelJson[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ source: `${json.title} / ${p.title ?? '?'}`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(json.panels);
  return out;
}

export const dashboardFiles = () => dashboards.map((d) => d.file);

export async function alertQueries(): Promise<NamedQuery[]> {
  const rules = parse(await readFile(path.resolve('dashboards/prometheus/alerts.yml'), 'utf8')) as {
    groups: { rules: { alert?: string; record?: string; expr: string }[] }[];
  };
  return rules.groups.flatMap((g) => g.rules.map((r) => ({ source: `alert ${r.alert ?? r.record ?? '?'}`, expr: r.expr })));
}

/** Grafana's variables replaced by values Prometheus accepts. */
export function substitute(expr: string, vars: Record<string, string>): string {
  let out = expr.replaceAll('$__rate_interval', vars.__rate_interval ?? '1m').replaceAll('$__range', vars.__range ?? '5m');
  for (const [k, v] of Object.entries(vars)) out = out.replaceAll(`$${k}`, v);
  return out;
}

/** Metric names an expression reads (by the pipeline's prefixes; histogram suffixes stripped). */
export function metricNames(expr: string): string[] {
  const names = expr.match(/\b(?:kafka|pipeline|cdc_bridge|consumer|http)_[a-zA-Z0-9_]+/g) ?? [];
  return [...new Set(names.map((n) => n.replace(/_(bucket|sum|count)$/, '')))];
}
