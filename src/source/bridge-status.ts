import type { BackfillResult } from './backfill.js';
import type { ConnectorConfig } from './connector.js';
import type { GapRepairResult } from './gap-repair.js';
import type { ShardState, ShardStatus } from './shard-state.js';

/** What a running bridge reports about itself (`Bridge.status()`): a snapshot, not live state. */
export interface BridgeStatus {
  state: 'idle' | 'starting' | 'backfilling' | 'repairing' | 'running' | 'stopping' | 'stopped';
  table: string;
  topic: string;
  delivery: ConnectorConfig['delivery'];
  workerId: string;
  streamArn: string | undefined;
  /** Shards read by this process, and shards it stopped on a programming error (state 'failed'). */
  shards: ShardStatus[];
  leasesHeld: string[];
  backfill: { runs: number; items: number; lastCompletedAt: number | undefined; last?: BackfillResult };
  /** Stream gaps repaired from the table (shard positions behind the trim horizon). */
  repair: { runs: number; itemsRead: number; relayed: number; lastCompletedAt: number | undefined; last: GapRepairResult | undefined };
  /** Consecutive failed rounds of shard discovery / lease renewal (DynamoDB unavailable). */
  roundFaults: number;
  lastError: string | undefined;
}

export const SHARD_STATES: readonly ShardState[] = ['starting', 'reading', 'caught-up', 'recovering', 'finished', 'trimmed', 'failed', 'lost-lease', 'stopped'];

/** Readiness of a bridge from its status (pure). A shard is "not ready" once a fault has been retried 3 times in a row. */
export function bridgeReadiness(status: BridgeStatus): { ready: boolean; reasons: string[] } {
  const reasons: string[] = [];
  if (status.state !== 'running' && status.state !== 'backfilling' && status.state !== 'repairing') reasons.push(`bridge is ${status.state}`);
  if (status.roundFaults >= 3) reasons.push(`shard discovery / lease renewal failing (${status.roundFaults} rounds): ${status.lastError ?? ''}`);
  for (const s of status.shards) {
    if (s.state === 'failed') reasons.push(`shard ${s.shardId} failed after ${s.lastSequenceNumber ?? 'its start'}: ${s.lastError ?? ''}`);
    else if (s.state === 'recovering' && s.faults >= 3) reasons.push(`shard ${s.shardId} retrying a fault (${s.faults} attempts): ${s.lastError ?? ''}`);
  }
  return { ready: reasons.length === 0, reasons };
}

/** Shards per state, every state present (a gauge must drop to 0 when its last shard leaves a state). */
export function shardStateCounts(shards: readonly ShardStatus[]): Map<ShardState, number> {
  const counts = new Map<ShardState, number>(SHARD_STATES.map((s) => [s, 0]));
  for (const s of shards) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
  return counts;
}
