import type { LogClient } from '../log/port.js';
import { Registry } from 'prom-client';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Pool } from '../db/db.js';
import { createLagMonitor } from './lag-monitor.js';
import type { LagSnapshot } from './lag-snapshot.js';
import { evaluateStatus, type LagSource, type PipelineStatus } from './pipeline-status.js';
import { discoverTargets, fetchLagSnapshot, runsLagMonitor, scrapeTarget, type ScrapeResult } from './scrape.js';

export interface StatusCollectorOptions {
  kafka: LogClient;
  pool: Pool;
  logger: Logger;
  /** The file_sd folder the pipeline's processes announce themselves in. */
  targetsDir: string;
  /** The event topic; its dead-letter topics are `<topic>.dlq.*`. */
  topic: string;
  /** Live groups to evaluate. */
  groups: string[];
  staleAfterSeconds: number;
  /** An announced monitor whose last poll is older than this is passed over (it cannot read the cluster). */
  maxMonitorAgeMs?: number;
  now?: () => number;
}

export interface StatusCollector {
  /** Scrapes every announced process, reads the groups' lag, reads the DLQ ends; never throws for an unreachable part. */
  collect(previous?: PipelineStatus): Promise<PipelineStatus>;
  stop(): Promise<void>;
}

type Lag = { snap: LagSnapshot | null; error?: string; source: LagSource };

/**
 * Collects what `evaluateStatus` needs. The groups' lag and status come from
 * what the running lag monitor has seen — the freshest `/lag` snapshot of an
 * announced process with the monitor role that knows at least one of the
 * groups — since Burrow's rules judge a window of commits that only a
 * monitor polling for a while has. Without one, a lag monitor of the
 * collector's own is polled; it lives as long as the collector, so repeated
 * collections (`status --watch`) fill its window, and until they have the
 * evaluation says "not enough data" rather than STOP or STALL.
 */
export function createStatusCollector(o: StatusCollectorOptions): StatusCollector {
  const now = o.now ?? Date.now;
  const maxMonitorAgeMs = o.maxMonitorAgeMs ?? 60_000;
  const monitor = createLagMonitor({ kafka: o.kafka, pool: o.pool, groups: o.groups, registry: new Registry(), logger: o.logger, pollIntervalMs: 1000 });
  let ownPolls = 0;
  const admin = o.kafka.admin();
  let connected = false;

  async function dlqEnds(): Promise<{ topic: string; records: number }[]> {
    if (!connected) {
      await admin.connect();
      connected = true;
    }
    const prefix = `${o.topic}.dlq.`;
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix)).sort();
    const out: { topic: string; records: number }[] = [];
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      out.push({ topic, records: ends.reduce((n, p) => n + Math.max(0, Number(p.high) - Number(p.low)), 0) });
    }
    return out;
  }

  /** The running monitor's view, else `why` there is none to use. */
  async function announcedLag(scrapes: ScrapeResult[]): Promise<{ snap: LagSnapshot; target: string; ageMs: number } | { why: string }> {
    const monitors = scrapes.filter((s) => s.up && runsLagMonitor(s));
    if (monitors.length === 0) return { why: 'no lag monitor announced' };
    const t = now();
    const seen = (await Promise.all(monitors.map(async (m) => ({ target: m.target, snap: await fetchLagSnapshot(m) })))).flatMap((x) =>
      x.snap ? [{ target: x.target, snap: x.snap, ageMs: Math.max(0, t - Date.parse(x.snap.polledAt ?? '')) }] : [],
    );
    const watching = seen.filter((x) => x.snap.groups.some((g) => o.groups.includes(g.group)));
    if (watching.length === 0) {
      return { why: seen.length === 0 ? 'the announced lag monitor serves no polled /lag yet' : 'the announced lag monitor watches none of these groups' };
    }
    const fresh = watching.filter((x) => x.ageMs <= maxMonitorAgeMs).sort((a, b) => a.ageMs - b.ageMs)[0];
    if (!fresh) return { why: `the announced lag monitor's last poll is ${Math.round(Math.min(...watching.map((x) => x.ageMs)) / 1000)} s old` };
    return fresh;
  }

  async function lagOf(scrapes: ScrapeResult[]): Promise<Lag> {
    const announced = await announcedLag(scrapes);
    if ('snap' in announced) {
      return { snap: announced.snap, source: { kind: 'monitor', target: announced.target, polledAgoSeconds: announced.ageMs / 1000 } };
    }
    const source: LagSource = { kind: 'own-poll', polls: ++ownPolls, why: announced.why };
    return monitor.pollOnce().then(
      (snap): Lag => ({ snap, source }),
      (err: unknown): Lag => ({ snap: null, error: errorMessage(err), source }),
    );
  }

  return {
    async collect(previous) {
      const targets = await discoverTargets(o.targetsDir);
      const [{ scrapes, lag }, dlq] = await Promise.all([
        Promise.all(targets.map((t) => scrapeTarget(t))).then(async (scrapes) => ({ scrapes, lag: await lagOf(scrapes) })),
        dlqEnds().then(
          (d): { ends: { topic: string; records: number }[]; error?: string } => ({ ends: d }),
          (err: unknown) => ({ ends: [], error: errorMessage(err) }),
        ),
      ]);
      const status = evaluateStatus({
        now: now(),
        targetsDir: o.targetsDir,
        scrapes,
        lag: lag.snap,
        ...(lag.error ? { lagError: lag.error } : {}),
        lagSource: lag.source,
        groups: o.groups,
        dlq: dlq.ends,
        staleAfterSeconds: o.staleAfterSeconds,
        ...(previous ? { previous } : {}),
      });
      if (dlq.error) status.problems.push(`dead-letter topics could not be read: ${dlq.error}`);
      return status;
    },
    async stop() {
      await monitor.stop();
      if (connected) await admin.disconnect().catch(() => undefined);
    },
  };
}
