import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { scanHighWaterMarks } from './source-journal.js';
import type { Pool } from '../db/db.js';

/**
 * Integrity check (seed 000 strategy 3): per persistence id, the journal's
 * highest sequence number against the read model's. It catches what the
 * sequence gate cannot see from the topic alone — a lost *last* event of an
 * aggregate (no later event reveals the gap) or a read model that was
 * restored from an old backup.
 */
export interface IntegrityFinding {
  persistenceId: string;
  journalMax: number;
  readModelLast: number | null;
  kind: 'missing' | 'behind' | 'ahead';
}

export interface IntegrityReport {
  journalIds: number;
  readModelIds: number;
  findings: IntegrityFinding[];
  repaired: number;
  durationMs: number;
}

/** The journal table's ids with their highest sequence numbers (journal layout: `pkey`, `sequence_nr`). */
export function journalHighWaterMarks(ddb: DynamoDBClient, table: string): Promise<Map<string, number>> {
  return scanHighWaterMarks(ddb, table, 'pkey', 'sequence_nr');
}

export async function checkIntegrity(options: {
  /** Every source table (see source-journal.ts). */
  journal: { highWaterMarks(): Promise<Map<string, number>> };
  pool: Pool;
  /** Only ids with this prefix (the journal may hold other aggregate types). */
  prefix?: string;
  repair?: (persistenceId: string, toSequenceNr: number) => Promise<number>;
}): Promise<IntegrityReport> {
  const t0 = Date.now();
  const prefix = options.prefix ?? 'inventory-';
  const journal = await options.journal.highWaterMarks();
  const { rows } = await options.pool.query<{ persistence_id: string; last_sequence_nr: number }>(
    'select persistence_id, last_sequence_nr from inventories',
  );
  const model = new Map(rows.map((r) => [r.persistence_id, r.last_sequence_nr]));
  const findings: IntegrityFinding[] = [];
  for (const [pid, max] of journal) {
    if (!pid.startsWith(prefix)) continue;
    const last = model.get(pid);
    if (last === undefined) findings.push({ persistenceId: pid, journalMax: max, readModelLast: null, kind: 'missing' });
    else if (last < max) findings.push({ persistenceId: pid, journalMax: max, readModelLast: last, kind: 'behind' });
    else if (last > max) findings.push({ persistenceId: pid, journalMax: max, readModelLast: last, kind: 'ahead' });
  }
  let repaired = 0;
  if (options.repair) {
    for (const f of findings) {
      if (f.kind !== 'ahead') repaired += await options.repair(f.persistenceId, f.journalMax);
    }
  }
  return { journalIds: journal.size, readModelIds: model.size, findings, repaired, durationMs: Date.now() - t0 };
}
