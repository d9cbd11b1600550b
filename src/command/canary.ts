import { hostname } from 'node:os';
import { Counter, type Registry } from 'prom-client';
import { CANARY_EVENT_TYPE, CANARY_PERSISTENCE_ID } from '../shared/canary.js';
import { ConcurrencyError, errorCode, errorMessage } from '../shared/errors.js';
import { createLogRateLimiter } from '../shared/log-rate-limit.js';
import type { Logger } from '../shared/logger.js';
import type { Journal } from './journal.js';

export interface CanaryWriter {
  /** Stops writing; resolves once no append is in flight. */
  stop(): Promise<void>;
}

/**
 * Writes the end-to-end canary (src/shared/canary.ts): a `PipelineHeartbeat`
 * appended to the journal every `intervalMs`, on the reserved persistence id.
 * Several writers (one per bridge process) share the id: a lost race
 * (ConcurrencyError) re-reads the position and writes on the next tick. A
 * journal that does not answer is retried on the next tick too — the canary
 * not arriving is exactly what the API and the alerts must then see; it is a
 * warning here (rate-limited), never a reason to stop.
 */
export function startCanaryWriter(o: { journal: Journal; intervalMs: number; logger: Logger; registry: Registry }): CanaryWriter {
  const { journal, intervalMs, logger } = o;
  if (!(intervalMs >= 100)) throw new RangeError(`canary interval must be >= 100 ms, got ${intervalMs}`);
  const writer = `${hostname()}:${process.pid}`;
  const written = new Counter({
    name: 'pipeline_canary_written_total',
    help: 'Canary heartbeats appended to the journal by this process.',
    registers: [o.registry],
  });
  const failed = new Counter({
    name: 'pipeline_canary_write_failures_total',
    help: 'Canary heartbeats that could not be appended (journal unavailable or throttled), by error code.',
    labelNames: ['code'],
    registers: [o.registry],
  });
  const limiter = createLogRateLimiter({ intervalMs: 30_000 });
  let position: number | undefined;
  let inFlight: Promise<void> | undefined;
  let stopped = false;

  async function beat() {
    try {
      position ??= await journal.highestSequenceNr(CANARY_PERSISTENCE_ID);
      const [r] = await journal.append({
        persistenceId: CANARY_PERSISTENCE_ID,
        expectedSequenceNr: position,
        events: [{ type: CANARY_EVENT_TYPE, data: { writer, intervalMs } }],
      });
      position = r?.sequenceNr ?? position + 1;
      written.inc();
    } catch (err) {
      position = undefined; // re-read: another writer appended, or our append landed before its answer was lost
      if (err instanceof ConcurrencyError) return;
      failed.inc({ code: errorCode(err) });
      const { log, suppressed } = limiter.take(errorCode(err));
      if (log) logger.warn({ code: errorCode(err), err: errorMessage(err), suppressed }, 'canary heartbeat not written; retrying on the next tick');
    }
  }

  const timer = setInterval(() => {
    if (stopped || inFlight) return;
    inFlight = beat().finally(() => {
      inFlight = undefined;
    });
  }, intervalMs);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inFlight;
    },
  };
}
