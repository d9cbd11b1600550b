import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../shared/errors.js';
import type { LagSnapshot } from './lag-snapshot.js';

/** One sample of the Prometheus text format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A /metrics endpoint announced in a file_sd folder (see prometheus-target.ts). */
export interface ScrapeTarget {
  /** host:port */
  target: string;
  labels: Record<string, string>;
  /** The announcing file (a process killed with SIGKILL leaves its file behind). */
  file: string;
}

export interface ScrapeResult extends ScrapeTarget {
  /** /metrics answered. */
  up: boolean;
  /** /readyz answered 200; undefined when the process serves no /readyz (404). */
  ready: boolean | undefined;
  /** /readyz body (names what is not ready). */
  readyBody: unknown;
  samples: Sample[];
  error?: string;
}

/**
 * Every target of every file_sd file in `dir`, the way Prometheus finds the
 * pipeline's processes. A missing folder reads as no target; an unreadable
 * or malformed file is skipped (Prometheus skips it too).
 */
export async function discoverTargets(dir: string): Promise<ScrapeTarget[]> {
  if (!dir) return [];
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const out: ScrapeTarget[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      const groups = JSON.parse(await readFile(file, 'utf8')) as unknown;
      if (!Array.isArray(groups)) continue;
      for (const g of groups as { targets?: unknown; labels?: unknown }[]) {
        const labels = g.labels && typeof g.labels === 'object' ? (g.labels as Record<string, string>) : {};
        if (!Array.isArray(g.targets)) continue;
        for (const t of g.targets) if (typeof t === 'string') out.push({ target: t, labels, file });
      }
    } catch {
      continue;
    }
  }
  return out;
}

const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
const unescape = (v: string) => v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));

/** Samples of a Prometheus text exposition (comments and malformed lines skipped). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.indexOf(' ');
    let name: string;
    let rest: string;
    const labels: Record<string, string> = {};
    if (brace !== -1 && (space === -1 || brace < space)) {
      const close = line.lastIndexOf('}');
      if (close < brace) continue;
      name = line.slice(0, brace);
      for (const m of line.slice(brace + 1, close).matchAll(LABEL)) labels[m[1]!] = unescape(m[2]!);
      rest = line.slice(close + 1).trim();
    } else {
      if (space === -1) continue;
      name = line.slice(0, space);
      rest = line.slice(space + 1).trim();
    }
    const valueText = rest.split(/\s+/)[0] ?? '';
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    if (valueText === '' || (Number.isNaN(value) && valueText !== 'NaN')) continue;
    out.push({ name, labels, value });
  }
  return out;
}

/** Reads /metrics and /readyz of one target; never throws (a dead target is `up: false`). */
export async function scrapeTarget(t: ScrapeTarget, timeoutMs = 3000): Promise<ScrapeResult> {
  const base = `http://${t.target}`;
  try {
    const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return { ...t, up: false, ready: undefined, readyBody: null, samples: [], error: `/metrics answered ${res.status}` };
    const samples = parseMetrics(await res.text());
    let ready: boolean | undefined;
    let readyBody: unknown = null;
    try {
      const r = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
      const text = await r.text();
      if (r.status !== 404) {
        ready = r.status === 200;
        try {
          readyBody = JSON.parse(text) as unknown;
        } catch {
          readyBody = text;
        }
      }
    } catch (err) {
      ready = false;
      readyBody = errorMessage(err);
    }
    return { ...t, up: true, ready, readyBody, samples };
  } catch (err) {
    return { ...t, up: false, ready: undefined, readyBody: null, samples: [], error: errorMessage(err) };
  }
}

/** Sum of the samples named `name` whose labels include `match`. */
export function sumOf(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

/** Whether a target announced the lag monitor among its roles (`roles` label, `bridge+monitor+...`). */
export const runsLagMonitor = (t: ScrapeTarget): boolean => (t.labels.roles ?? '').split('+').includes('monitor');

/**
 * The lag snapshot a monitor process serves at `/lag` next to `/metrics`;
 * undefined when it does not answer, or answers with something that is not
 * a polled snapshot. The shape is checked only as far as the caller relies on
 * it (a poll time and a list of groups): both ends are this code base.
 */
export async function fetchLagSnapshot(t: ScrapeTarget, timeoutMs = 3000): Promise<LagSnapshot | undefined> {
  try {
    const res = await fetch(`http://${t.target}/lag`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return undefined;
    const body = (await res.json()) as Partial<LagSnapshot> | null;
    if (typeof body?.polledAt !== 'string' || !Array.isArray(body.groups)) return undefined;
    return body as LagSnapshot;
  } catch {
    return undefined;
  }
}
