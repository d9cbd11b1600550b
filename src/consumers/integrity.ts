import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
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

/** Highest sequence number per persistence id, by a parallel Scan of keys only. */
export async function journalHighWaterMarks(ddb: DynamoDBClient, table: string, segments = 4): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
      do {
        const page = await ddb.send(
          new ScanCommand({
            TableName: table,
            Segment: segment,
            TotalSegments: segments,
            ProjectionExpression: 'pkey, sequence_nr',
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        );
        for (const item of page.Items ?? []) {
          const pid = item.pkey?.S;
          const seq = Number(item.sequence_nr?.N);
          if (pid && Number.isFinite(seq) && seq > (result.get(pid) ?? 0)) result.set(pid, seq);
        }
        start = page.LastEvaluatedKey;
      } while (start);
    }),
  );
  return result;
}

export async function checkIntegrity(options: {
  ddb: DynamoDBClient;
  table: string;
  pool: Pool;
  /** Only ids with this prefix (the journal may hold other aggregate types). */
  prefix?: string;
  repair?: (persistenceId: string, toSequenceNr: number) => Promise<number>;
}): Promise<IntegrityReport> {
  const t0 = Date.now();
  const prefix = options.prefix ?? 'inventory-';
  const journal = await journalHighWaterMarks(options.ddb, options.table);
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
