import type { LagSnapshot } from './lag-snapshot.js';
import { sumOf, type ScrapeResult } from './scrape.js';

/**
 * The pipeline on one screen (`cli status`): what runs, how far behind each
 * part is, and which of it needs a person. Pure: the command collects the
 * inputs (file_sd targets scraped, the lag snapshot of the running lag
 * monitor or else its own poll, DLQ topic ends) and this module evaluates and
 * renders them, so the rule is unit-testable.
 *
 * The rule — a *problem* (exit code 1) is something that does not heal by
 * itself and needs a person:
 *   - no pipeline process is announced in the targets folder;
 *   - a process announced there does not answer /metrics (crashed: its file
 *     stays behind) or answers /readyz with 503 (a consumer retrying on a
 *     lost dependency, a bridge that is not reading);
 *   - a bridge shard stopped on a programming error (state `failed`);
 *   - a live consumer group in STOP, STALL, ERR or REWIND (Burrow; from the
 *     offsets stored in PostgreSQL when the group stores them, else Kafka's),
 *     or a group the lag monitor could not read. These verdicts need a
 *     window of commits: a partition the snapshot has too little history of
 *     reads "not enough data" (status NO DATA, a warning), never a verdict —
 *     which is why the running monitor's snapshot is preferred to a poll of
 *     our own;
 *   - a dead-letter topic of the pipeline with records in it (each one waits
 *     for a person to replay or purge it: `cli dlq list`);
 *   - a stale view: its group has unconsumed records and the view's newest
 *     applied event is older than `staleAfterSeconds` (an idle pipeline with
 *     nothing to apply is not stale, however old its last event).
 * A *warning* is shown but does not fail: a WARN group (lag growing), a
 * group without enough data, Kafka-committed and stored offsets that disagree
 * or a status Kafka's committed offsets alone would give (advisory: kminion
 * or Burrow would alert on it, we do not), parked ids waiting for a journal
 * range, dead letters that arrived since the previous refresh.
 */
export interface StatusInput {
  now: number;
  targetsDir: string;
  scrapes: ScrapeResult[];
  /** The lag snapshot; null when it could not be had (lagError says why). */
  lag: LagSnapshot | null;
  lagError?: string;
  /** Where `lag` comes from (absent: a poll of our own, no reason given). */
  lagSource?: LagSource;
  /** The live groups the pipeline runs (the lag monitor polled these). */
  groups: string[];
  dlq: { topic: string; records: number }[];
  staleAfterSeconds: number;
  /** The previous evaluation (`--watch`): dead letters that arrived since are named. */
  previous?: PipelineStatus;
}

/**
 * Where the groups' lag and status come from: the snapshot the running lag
 * monitor announced (a window as long as it has been polling), or a poll of
 * the status command's own (`polls` so far: 1 for a one-shot `status`).
 */
export type LagSource =
  | { kind: 'monitor'; target: string; polledAgoSeconds: number }
  | { kind: 'own-poll'; polls: number; why: string };

export interface RoleStatus {
  target: string;
  roles: string;
  up: boolean;
  ready: boolean | undefined;
  /** What is not ready, from /readyz, or why /metrics failed. */
  detail: string;
}

export interface ShardStatus {
  table: string;
  shard: string;
  iteratorAgeSeconds: number | null;
  checkpointAgeSeconds: number | null;
}

export interface GroupStatus {
  group: string;
  status: string;
  source: 'stored' | 'kafka' | 'none';
  sumLag: number;
  maxLagSeconds: number;
  /** Partitions whose Kafka-committed and stored offsets disagree past the grace period. */
  disagreeing: number[];
  storesOffsets: boolean;
  detail: string;
}

export interface ViewStatus {
  view: string;
  group: string | null;
  freshnessSeconds: number | null;
  groupLag: number;
  stale: boolean;
}

export interface PipelineStatus {
  checkedAt: string;
  lagSource: LagSource | null;
  roles: RoleStatus[];
  bridge: { shards: ShardStatus[]; failedShards: number; relayedTotal: number };
  groups: GroupStatus[];
  views: ViewStatus[];
  dlq: { topic: string; records: number; newSincePrevious: number }[];
  parked: { group: string; ids: number }[];
  problems: string[];
  warnings: string[];
}

const NEEDS_A_PERSON = new Set(['STOP', 'STALL', 'ERR', 'REWIND']);
/** The status shown for a group whose lagging partitions have too short a window to judge. */
export const NO_DATA = 'NO DATA';

function readinessDetail(body: unknown): string {
  if (!body || typeof body !== 'object') return typeof body === 'string' ? body : '';
  const b = body as { consumers?: Record<string, { state?: string; reason?: string }>; bridge?: { ready?: boolean; reasons?: string[] } };
  const parts: string[] = [];
  for (const [group, h] of Object.entries(b.consumers ?? {})) {
    if (h.state !== 'running') parts.push(`${group}: ${h.state ?? '?'}${h.reason ? ` (${h.reason})` : ''}`);
  }
  if (b.bridge && b.bridge.ready === false) parts.push(`bridge: ${(b.bridge.reasons ?? []).join('; ') || 'not ready'}`);
  return parts.join(', ');
}

/** Evaluates the collected inputs against the rule above. */
export function evaluateStatus(input: StatusInput): PipelineStatus {
  const problems: string[] = [];
  const warnings: string[] = [];

  const roles: RoleStatus[] = input.scrapes.map((s) => ({
    target: s.target,
    roles: s.labels.roles ?? '?',
    up: s.up,
    ready: s.ready,
    detail: s.up ? (s.ready === false ? readinessDetail(s.readyBody) : '') : (s.error ?? 'no answer'),
  }));
  if (roles.length === 0) problems.push(`no pipeline process announced in ${input.targetsDir || '(PROMETHEUS_TARGETS_DIR is empty)'}`);
  for (const r of roles) {
    if (!r.up) problems.push(`process ${r.target} (${r.roles}) does not answer /metrics: ${r.detail}`);
    else if (r.ready === false) problems.push(`process ${r.target} (${r.roles}) is not ready${r.detail ? `: ${r.detail}` : ''}`);
  }

  const samples = input.scrapes.flatMap((s) => s.samples);
  const shardKey = (l: Record<string, string>) => `${l.table ?? ''}\u0000${l.shard ?? ''}`;
  const shards = new Map<string, ShardStatus>();
  const shardOf = (l: Record<string, string>) => {
    const k = shardKey(l);
    let s = shards.get(k);
    if (!s) shards.set(k, (s = { table: l.table ?? '', shard: l.shard ?? '', iteratorAgeSeconds: null, checkpointAgeSeconds: null }));
    return s;
  };
  for (const s of samples) {
    if (s.name === 'cdc_bridge_iterator_age_ms') shardOf(s.labels).iteratorAgeSeconds = s.value / 1000;
    if (s.name === 'cdc_bridge_checkpoint_age_seconds') shardOf(s.labels).checkpointAgeSeconds = s.value;
  }
  const failedShards = sumOf(samples, 'cdc_bridge_shards', { state: 'failed' });
  if (failedShards > 0) problems.push(`${failedShards} bridge shard(s) stopped on a programming error (see the bridge's log; cdc_bridge_shard_failures_total names them)`);

  const groups: GroupStatus[] = [];
  if (!input.lag) problems.push(`consumer groups could not be read: ${input.lagError ?? 'unknown error'}`);
  for (const e of input.lag?.errors ?? []) problems.push(`lag monitor: ${e}`);
  for (const name of input.groups) {
    const g = input.lag?.groups.find((x) => x.group === name);
    if (!input.lag) break;
    if (!g) {
      groups.push({ group: name, status: '-', source: 'none', sumLag: 0, maxLagSeconds: 0, disagreeing: [], storesOffsets: false, detail: 'no committed or stored offsets yet' });
      continue;
    }
    const st = g.status;
    const partitions = g.topics.flatMap((t) => t.partitions);
    const disagreeing = partitions.filter((p) => p.stored?.disagree).map((p) => p.partition);
    const gs: GroupStatus = {
      group: name,
      status: st === null ? '-' : st.reason === 'incomplete_window' ? NO_DATA : st.status,
      source: g.offsetSource === 'postgres' ? 'stored' : 'kafka',
      sumLag: g.sumLag,
      maxLagSeconds: g.maxLagSeconds,
      disagreeing,
      storesOffsets: g.offsetSource === 'postgres',
      detail: st?.detail ?? 'no offsets committed or stored yet',
    };
    groups.push(gs);
    if (NEEDS_A_PERSON.has(gs.status)) problems.push(`group ${name} is ${gs.status}: ${gs.detail}`);
    else if (gs.status === 'WARN') warnings.push(`group ${name} is WARN: ${gs.detail}`);
    else if (gs.status === NO_DATA) warnings.push(`group ${name}: ${gs.detail}; STOP and STALL are not judged (${noDataHint(input.lagSource)})`);
    if (disagreeing.length > 0) warnings.push(`group ${name}: Kafka-committed and stored offsets disagree on partition(s) ${disagreeing.join(', ')}`);
    if (g.kafkaStatus && NEEDS_A_PERSON.has(g.kafkaStatus.status)) {
      warnings.push(
        `group ${name}: its Kafka-committed offsets alone would say ${g.kafkaStatus.status} (${g.kafkaStatus.detail}); advisory — it stands where consumer_offsets says`,
      );
    }
  }

  const lagOf = (group: string | null) => groups.find((g) => g.group === group)?.sumLag ?? 0;
  const views: ViewStatus[] = (input.lag?.views ?? [])
    .filter((v) => v.group !== null && input.groups.includes(v.group))
    .map((v) => {
      const groupLag = lagOf(v.group);
      const stale = groupLag > 0 && (v.freshnessSeconds === null || v.freshnessSeconds > input.staleAfterSeconds);
      return { view: v.view, group: v.group, freshnessSeconds: v.freshnessSeconds, groupLag, stale };
    });
  for (const v of views) {
    if (v.stale) problems.push(`view ${v.view} is stale: ${v.freshnessSeconds === null ? 'nothing applied' : `newest event ${Math.round(v.freshnessSeconds)} s old`} with ${v.groupLag} record(s) unconsumed by ${v.group}`);
  }

  const dlq = input.dlq.map((d) => {
    const before = input.previous?.dlq.find((p) => p.topic === d.topic)?.records;
    return { ...d, newSincePrevious: before === undefined ? 0 : Math.max(0, d.records - before) };
  });
  for (const d of dlq) {
    if (d.records > 0) problems.push(`${d.records} dead letter(s) in ${d.topic} (cli dlq list, then replay or purge)`);
    if (d.newSincePrevious > 0) warnings.push(`${d.newSincePrevious} new dead letter(s) in ${d.topic} since the previous refresh`);
  }

  const parkedBy = new Map<string, number>();
  for (const s of samples) if (s.name === 'consumer_parked_ids') parkedBy.set(s.labels.group ?? '', (parkedBy.get(s.labels.group ?? '') ?? 0) + s.value);
  const parked = [...parkedBy].map(([group, ids]) => ({ group, ids }));
  for (const p of parked) if (p.ids > 0) warnings.push(`${p.ids} id(s) of ${p.group} parked, waiting for a journal range`);

  return {
    checkedAt: new Date(input.now).toISOString(),
    lagSource: input.lagSource ?? null,
    roles,
    bridge: { shards: [...shards.values()].sort((a, b) => (a.shard < b.shard ? -1 : 1)), failedShards, relayedTotal: sumOf(samples, 'cdc_bridge_records_relayed_total') },
    groups,
    views,
    dlq,
    parked,
    problems,
    warnings,
  };
}

function noDataHint(source: LagSource | undefined): string {
  if (source?.kind === 'monitor') return `the lag monitor at ${source.target} has not watched it long enough yet`;
  return `${source?.why ?? 'no lag monitor announced'}: a poll of our own has no history; run the monitor role, or status --watch`;
}

function lagSourceLine(source: LagSource | null): string {
  if (!source) return '';
  if (source.kind === 'monitor') return ` (lag monitor at ${source.target}, polled ${source.polledAgoSeconds.toFixed(1)} s ago)`;
  return ` (own poll${source.polls > 1 ? ` #${source.polls}` : ''}: ${source.why})`;
}

const secs = (s: number | null) => (s === null ? '-' : s < 100 ? `${s.toFixed(1)} s` : s < 7200 ? `${Math.round(s)} s` : `${(s / 3600).toFixed(1)} h`);

/** The one-screen text of a status (no colours: it goes to cron mails and CI logs as well). */
export function renderStatus(st: PipelineStatus): string {
  const out: string[] = [];
  const verdict = st.problems.length === 0 ? 'OK' : `NEEDS ATTENTION (${st.problems.length})`;
  out.push(`pipeline status ${st.checkedAt}: ${verdict}`);
  out.push('', 'processes');
  if (st.roles.length === 0) out.push('  (none announced)');
  for (const r of st.roles) {
    const state = !r.up ? 'DOWN' : r.ready === false ? 'NOT READY' : r.ready === undefined ? 'up' : 'ready';
    out.push(`  ${r.target.padEnd(22)} ${r.roles.padEnd(34)} ${state}${r.detail ? `  ${r.detail}` : ''}`);
  }
  out.push('', `bridge shards${st.bridge.failedShards > 0 ? ` (${st.bridge.failedShards} FAILED)` : ''}`);
  if (st.bridge.shards.length === 0) out.push('  (no bridge running)');
  else out.push(`  ${'shard'.padEnd(44)} ${'iterator age'.padStart(12)} ${'checkpoint age'.padStart(15)}`);
  for (const s of st.bridge.shards) out.push(`  ${s.shard.slice(-44).padEnd(44)} ${secs(s.iteratorAgeSeconds).padStart(12)} ${secs(s.checkpointAgeSeconds).padStart(15)}`);
  out.push('', `consumer groups${lagSourceLine(st.lagSource)}`);
  out.push(`  ${'group'.padEnd(36)} ${'status'.padEnd(7)} ${'lag'.padStart(8)} ${'lag s'.padStart(8)}  ${'offsets'.padEnd(11)} detail`);
  for (const g of st.groups) {
    const offsets = !g.storesOffsets ? '-' : g.disagreeing.length > 0 ? `DISAGREE ${g.disagreeing.join(',')}` : 'agree';
    out.push(`  ${g.group.padEnd(36)} ${g.status.padEnd(7)} ${String(g.sumLag).padStart(8)} ${g.maxLagSeconds.toFixed(1).padStart(8)}  ${offsets.padEnd(11)} ${g.detail}`);
  }
  out.push('', 'views');
  if (st.views.length === 0) out.push('  (no view has applied anything yet)');
  for (const v of st.views) out.push(`  ${v.view.padEnd(36)} freshness ${secs(v.freshnessSeconds).padStart(8)}  ${v.stale ? 'STALE' : 'fresh'}`);
  const dlqTotal = st.dlq.reduce((n, d) => n + d.records, 0);
  const parkedTotal = st.parked.reduce((n, p) => n + p.ids, 0);
  out.push('', `dead letters ${dlqTotal}   parked ids ${parkedTotal}`);
  for (const d of st.dlq) if (d.records > 0) out.push(`  ${d.topic}: ${d.records}${d.newSincePrevious ? ` (+${d.newSincePrevious})` : ''}`);
  if (st.problems.length > 0) out.push('', 'needs a person:', ...st.problems.map((p) => `  ✗ ${p}`));
  if (st.warnings.length > 0) out.push('', 'warnings:', ...st.warnings.map((w) => `  ! ${w}`));
  return out.join('\n');
}
