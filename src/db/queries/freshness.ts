import type { Queryable } from './queryable.js';

/** One row of `view_freshness`, maintained by the consumer runner in the same transaction as the view rows. */
export interface ViewFreshnessRow {
  viewName: string;
  groupId: string;
  /** Newest journal `written_at` applied to the view; null until it applied an event carrying one. */
  lastSourceTime: Date | null;
  lastEventTime: Date | null;
  /** When the transaction that last changed the view committed. */
  lastCommitTime: Date;
  /** Journal time of the newest canary heartbeat the view's group applied (null: none yet, or no canary). */
  lastCanaryTime: Date | null;
}

const COLUMNS = `view_name as "viewName", group_id as "groupId", last_source_time as "lastSourceTime",
  last_event_time as "lastEventTime", last_commit_time as "lastCommitTime", last_canary_time as "lastCanaryTime"`;

/** Freshness rows of the named views (absent names have applied nothing yet). */
export async function readViewFreshness(db: Queryable, viewNames: readonly string[]): Promise<Map<string, ViewFreshnessRow>> {
  const { rows } = await db.query<ViewFreshnessRow>(
    `select ${COLUMNS} from view_freshness where view_name = any($1::text[])`,
    [viewNames],
  );
  return new Map(rows.map((r) => [r.viewName, r]));
}

/** Every freshness row (readiness looks at all views). */
export async function readAllViewFreshness(db: Queryable): Promise<ViewFreshnessRow[]> {
  const { rows } = await db.query<ViewFreshnessRow>(`select ${COLUMNS} from view_freshness order by view_name`);
  return rows;
}

/** The first of `viewNames` that has a freshness row (a SQL view inherits its table's freshness). */
export async function readFirstViewFreshness(db: Queryable, viewNames: readonly string[]): Promise<ViewFreshnessRow | undefined> {
  const rows = await readViewFreshness(db, viewNames);
  for (const name of viewNames) {
    const row = rows.get(name);
    if (row) return row;
  }
  return undefined;
}
