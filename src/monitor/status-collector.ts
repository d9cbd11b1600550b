import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Pool } from '../db/db.js';
import { createLagMonitor } from './lag-monitor.js';
import type { LagSnapshot } from './lag-snapshot.js';
import { evaluateStatus, type PipelineStatus } from './pipeline-status.js';
import { discoverTargets, scrapeTarget } from './scrape.js';

export interface StatusCollectorOptions {
  kafka: Kafka;
  pool: Pool;
  logger: Logger;
  /** The file_sd folder the pipeline's processes announce themselves in. */
  targetsDir: string;
  /** The event topic; its dead-letter topics are `<topic>.dlq.*`. */
  topic: string;
  /** Live groups to evaluate. */
  groups: string[];
  staleAfterSeconds: number;
  now?: () => number;
}

export interface StatusCollector {
  /** Scrapes every announced process, polls the groups once, reads the DLQ ends; never throws for an unreachable part. */
  collect(previous?: PipelineStatus): Promise<PipelineStatus>;
  stop(): Promise<void>;
}

/**
 * Collects what `evaluateStatus` needs. One lag monitor lives as long as the
 * collector, so that repeated collections (`status --watch`) fill Burrow's
 * evaluation window the way the monitor role's own polling does.
 */
export function createStatusCollector(o: StatusCollectorOptions): StatusCollector {
  const now = o.now ?? Date.now;
  const monitor = createLagMonitor({ kafka: o.kafka, pool: o.pool, groups: o.groups, registry: new Registry(), logger: o.logger, pollIntervalMs: 1000 });
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

  return {
    async collect(previous) {
      const targets = await discoverTargets(o.targetsDir);
      const [scrapes, lag, dlq] = await Promise.all([
        Promise.all(targets.map((t) => scrapeTarget(t))),
        monitor.pollOnce().then(
          (snap): { snap: LagSnapshot | null; error?: string } => ({ snap }),
          (err: unknown) => ({ snap: null, error: errorMessage(err) }),
        ),
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
