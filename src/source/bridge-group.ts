import { errorMessage, PipelineError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { backoffDelay, sleep } from '../shared/retry.js';
import { BridgeRefusedError, type Bridge, type BridgeStatus } from './bridge.js';
import type { ConnectorConfig } from './connector.js';

/** One connector of a bridge group: its bridge once started, else why not yet. */
export interface ConnectorState {
  connector: string;
  table: string;
  bridge: Bridge | undefined;
  startAttempts: number;
  lastStartError: string | undefined;
  /** The start was refused for a reason only a person can fix (BridgeRefusedError): not retried. */
  refused: boolean;
}

export interface BridgeGroup {
  /**
   * Starts every connector's bridge. Resolves once each was tried once and at
   * least one runs; connectors that could not start (table missing, stream
   * disabled, AWS down) keep being retried in the background, except one
   * whose start was refused (BridgeRefusedError: its schemas cannot be
   * registered), which stops with one ERROR naming the fix. Rejects when none
   * could start: with code BRIDGE_REFUSED when every one was refused (a
   * retry of the whole start cannot help either).
   */
  start(): Promise<void>;
  stop(): Promise<void>;
  connectors(): ConnectorState[];
  /** One status per running connector. */
  status(): BridgeStatus[];
  /** Ready when every connector runs and is ready; reasons name the connector. */
  readiness(): { ready: boolean; reasons: string[] };
}

/**
 * Several connectors (tables) relayed by one process. Each connector is its
 * own bridge — its own shards, leases, checkpoints, transactional ids, DLQ
 * and `table` metric label — so a failure of one (its table deleted, its
 * stream disabled, its records failing to map) stays with it: the others go
 * on, and a connector that cannot start is retried with backoff until it can.
 */
export function createBridgeGroup(options: {
  connectors: readonly ConnectorConfig[];
  create: (connector: ConnectorConfig) => Bridge;
  logger: Logger;
  retryBaseMs?: number;
  retryMaxMs?: number;
}): BridgeGroup {
  const { connectors, create, logger, retryBaseMs = 1_000, retryMaxMs = 15_000 } = options;
  if (connectors.length === 0) throw new PipelineError('BRIDGE_GROUP', 'a bridge group needs at least one connector');
  const controller = new AbortController();
  const states = connectors.map(
    (c): ConnectorState => ({ connector: c.name, table: c.table, bridge: undefined, startAttempts: 0, lastStartError: undefined, refused: false }),
  );
  const retries: Promise<void>[] = [];

  /** One start attempt; a failed bridge is stopped (releases what it took) and dropped. */
  async function attempt(i: number): Promise<boolean> {
    const state = states[i]!;
    state.startAttempts++;
    let bridge: Bridge | undefined;
    try {
      bridge = create(connectors[i]!);
      await bridge.start();
      if (controller.signal.aborted) {
        await bridge.stop();
        return false;
      }
      state.bridge = bridge;
      state.lastStartError = undefined;
      return true;
    } catch (err) {
      state.lastStartError = errorMessage(err);
      await bridge?.stop().catch(() => undefined);
      if (err instanceof BridgeRefusedError) {
        // Reported once, by start() or by the background retry, as an ERROR: a person must act.
        state.refused = true;
        return false;
      }
      const log = { connector: state.connector, table: state.table, attempts: state.startAttempts, err: state.lastStartError };
      if (state.startAttempts <= 3 || state.startAttempts % 10 === 0) logger.warn(log, 'connector could not start; the other connectors go on, this one is retried');
      return false;
    }
  }

  function reportRefused(state: ConnectorState) {
    logger.error({ connector: state.connector, table: state.table, err: state.lastStartError }, 'connector stopped: it cannot relay until this is fixed; the other connectors go on');
  }

  async function retryUntilStarted(i: number): Promise<void> {
    while (!controller.signal.aborted) {
      await sleep(backoffDelay(Math.min(states[i]!.startAttempts, 8), retryBaseMs, retryMaxMs), controller.signal);
      if (controller.signal.aborted || (await attempt(i))) return;
      if (states[i]!.refused) return reportRefused(states[i]!);
    }
  }

  return {
    async start() {
      const started = await Promise.all(connectors.map((_, i) => attempt(i)));
      if (!started.some(Boolean)) {
        controller.abort();
        // The caller reports this error (once); nothing is logged here.
        throw new PipelineError(
          states.every((s) => s.refused) ? 'BRIDGE_REFUSED' : 'BRIDGE_START',
          `no connector could start: ${states.map((s) => `${s.connector}: ${s.lastStartError ?? ''}`).join('; ')}`,
        );
      }
      started.forEach((ok, i) => {
        if (ok) return;
        if (states[i]!.refused) reportRefused(states[i]!);
        else retries.push(retryUntilStarted(i));
      });
    },
    async stop() {
      controller.abort();
      await Promise.allSettled(retries);
      await Promise.allSettled(states.map((s) => s.bridge?.stop()));
    },
    connectors: () => states.map((s) => ({ ...s })),
    status: () => states.flatMap((s) => (s.bridge ? [s.bridge.status()] : [])),
    readiness() {
      const reasons = states.flatMap((s) => {
        if (!s.bridge) return [`connector ${s.connector} (table ${s.table}) ${s.refused ? 'stopped' : 'not started'}: ${s.lastStartError ?? 'starting'}`];
        return s.bridge.readiness().reasons.map((r) => `connector ${s.connector}: ${r}`);
      });
      return { ready: reasons.length === 0, reasons };
    },
  };
}
