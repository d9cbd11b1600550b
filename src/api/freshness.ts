import type { ViewFreshnessRow } from '../db/view-freshness.js';
import type { InventoryRow } from '../db/queries/inventories.js';
import {
  consistencyStatus,
  estimateLag,
  groupBehind,
  MAX_SNAPSHOT_AGE_MS,
  toSeconds,
  type ConsistencyStatus,
  type LagBasis,
  type StalenessThresholds,
} from './consistency.js';
import type { LagSnapshot } from './lag-schema.js';

export interface FreshnessJson {
  view: string;
  lastSourceTime: string | null;
  lastCommitTime: string | null;
  lagSeconds: number | null;
  lagBasis: LagBasis;
  consistencyStatus: ConsistencyStatus;
}

export interface FreshnessAnswer {
  json: FreshnessJson;
  lagMs: number | null;
  status: ConsistencyStatus;
}

export interface FreshnessService {
  /** Freshness of a whole view from its view_freshness row (undefined: the view applied nothing yet). */
  forView(viewName: string, row: ViewFreshnessRow | undefined): FreshnessAnswer;
  /** Freshness of one inventory row; see estimateLag for the formula. */
  forInventory(inventory: InventoryRow, view: ViewFreshnessRow | undefined): FreshnessAnswer;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export function createFreshnessService({
  lag,
  lagMaxAgeMs = MAX_SNAPSHOT_AGE_MS,
  clock,
  thresholds,
  canaryIntervalMs = 0,
}: {
  lag: (() => LagSnapshot | undefined) | undefined;
  lagMaxAgeMs?: number;
  clock: () => number;
  thresholds: StalenessThresholds;
  /** The end-to-end canary's interval (0: not running: answers cannot see the bridge and are never UP_TO_DATE). */
  canaryIntervalMs?: number;
}): FreshnessService {
  const canaryOf = (row: ViewFreshnessRow | undefined) =>
    canaryIntervalMs > 0 ? { lastTime: row?.lastCanaryTime ?? null, intervalMs: canaryIntervalMs } : undefined;
  const behindOf = (row: ViewFreshnessRow | undefined, now: number) =>
    row && lag ? groupBehind(lag(), row.groupId, now, lagMaxAgeMs) : undefined;

  const answer = (view: string, row: ViewFreshnessRow | undefined, lagMs: number | null, basis: LagBasis): FreshnessAnswer => {
    const status = consistencyStatus(lagMs, thresholds, basis);
    return {
      json: {
        view,
        lastSourceTime: iso(row?.lastSourceTime),
        lastCommitTime: iso(row?.lastCommitTime),
        lagSeconds: toSeconds(lagMs),
        lagBasis: basis,
        consistencyStatus: status,
      },
      lagMs,
      status,
    };
  };

  return {
    forView(viewName, row) {
      const now = clock();
      const est = estimateLag({
        appliedSourceTime: row?.lastSourceTime,
        appliedAt: row?.lastCommitTime,
        viewLastSourceTime: row?.lastSourceTime,
        behind: behindOf(row, now),
        now,
        canary: canaryOf(row),
      });
      return answer(viewName, row, est.lagMs, est.basis);
    },
    forInventory(inventory, view) {
      const now = clock();
      const est = estimateLag({
        // Rows projected before source_written_at was carried fall back to the event time.
        appliedSourceTime: inventory.lastSourceWrittenAt ?? inventory.lastEventAt,
        appliedAt: inventory.updatedAt,
        viewLastSourceTime: view?.lastSourceTime,
        behind: behindOf(view, now),
        now,
        canary: canaryOf(view),
      });
      return answer(view?.viewName ?? 'inventories', view, est.lagMs, est.basis);
    },
  };
}
