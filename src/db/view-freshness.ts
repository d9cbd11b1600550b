import type { Queryable } from './queries/queryable.js';

/**
 * The one owner of `view_freshness`: every statement that writes, merges,
 * deletes or reads it is here, and its row shape is declared once for the
 * consumers that write it, the lag monitor and the API that read it.
 *
 * A row says how fresh one view is: the newest journal time and event time
 * its group applied, the newest canary heartbeat's journal time, and when the
 * transaction that last changed it committed. Writers run in their group's
 * batch transaction (with the offsets), so the row never runs ahead of the
 * view it describes.
 */
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

/** What a batch applied, for {@link recordViewFreshness} (a handler's outcome has these fields). */
export interface AppliedTimes {
  newestSourceTime?: number | undefined;
  newestEventTime?: number | undefined;
}

// The two later columns through to_jsonb: a reader on a table from before migration 0004 (or a test's minimal
// stand-in) reads null instead of failing.
const COLUMNS = `f.view_name as "viewName", f.group_id as "groupId", f.last_source_time as "lastSourceTime",
  (to_jsonb(f) ->> 'last_event_time')::timestamptz as "lastEventTime", f.last_commit_time as "lastCommitTime",
  (to_jsonb(f) ->> 'last_canary_time')::timestamptz as "lastCanaryTime"`;

/**
 * Records, in the batch's transaction, how fresh each view of the group is:
 * the newest journal time and event time applied, the newest canary
 * heartbeat's journal time, and now as the commit time. Times only move
 * forward (a redelivered or repaired older event cannot make a view look
 * older than it is).
 */
export async function recordViewFreshness(
  tx: Queryable,
  views: readonly string[],
  groupId: string,
  applied: AppliedTimes,
  newestCanary?: number,
): Promise<void> {
  if (views.length === 0 || (!applied.newestSourceTime && !applied.newestEventTime && !newestCanary)) return;
  // A canary alone moves only last_canary_time: the view's data did not change, so neither does its commit time.
  await tx.query(
    `insert into view_freshness(view_name, group_id, last_source_time, last_event_time, last_canary_time, last_commit_time)
     select v, $2, to_timestamp($3::double precision / 1000), to_timestamp($4::double precision / 1000),
            to_timestamp($5::double precision / 1000), now()
     from unnest($1::text[]) v
     on conflict (view_name) do update set
       last_source_time = greatest(view_freshness.last_source_time, excluded.last_source_time),
       last_event_time = greatest(view_freshness.last_event_time, excluded.last_event_time),
       last_canary_time = greatest(view_freshness.last_canary_time, excluded.last_canary_time),
       last_commit_time = case when $3::double precision is null and $4::double precision is null
                               then view_freshness.last_commit_time else now() end`,
    [views, groupId, applied.newestSourceTime ?? null, applied.newestEventTime ?? null, newestCanary ?? null],
  );
}

/**
 * After a rebuild's swap: the live view `live` (now the rebuilt table) takes
 * the rebuilt copy's row (`from`) when that saw a newer source time, and
 * keeps its own otherwise — its commit time must not turn into "now", or an
 * idle view would look as stale as its newest event is old.
 */
export async function mergeViewFreshness(tx: Queryable, o: { live: string; from: string; groupId: string }): Promise<void> {
  await tx.query(
    `insert into view_freshness(view_name, group_id, last_source_time, last_event_time, last_commit_time)
     select $1, $2, last_source_time, last_event_time, last_commit_time from view_freshness where view_name = $3
     on conflict (view_name) do update set
       group_id = excluded.group_id,
       last_source_time = excluded.last_source_time,
       last_event_time = greatest(view_freshness.last_event_time, excluded.last_event_time),
       last_commit_time = excluded.last_commit_time
     where excluded.last_source_time > view_freshness.last_source_time
        or (view_freshness.last_source_time is null and excluded.last_source_time is not null)`,
    [o.live, o.groupId, o.from],
  );
}

/** Deletes the rows of a group and of the named views (a rebuild's, when it is swapped in or discarded); returns how many. */
export async function deleteViewFreshness(db: Queryable, o: { groupId: string; views: readonly string[] }): Promise<number> {
  const { rowCount } = await db.query('delete from view_freshness where group_id = $1 or view_name = any($2::text[])', [o.groupId, o.views]);
  return rowCount ?? 0;
}

/** Freshness rows of the named views (absent names have applied nothing yet). */
export async function readViewFreshness(db: Queryable, viewNames: readonly string[]): Promise<Map<string, ViewFreshnessRow>> {
  const { rows } = await db.query<ViewFreshnessRow>(`select ${COLUMNS} from view_freshness f where f.view_name = any($1::text[])`, [viewNames]);
  return new Map(rows.map((r) => [r.viewName, r]));
}

/** Every freshness row (readiness and the lag monitor look at all views). */
export async function readAllViewFreshness(db: Queryable): Promise<ViewFreshnessRow[]> {
  const { rows } = await db.query<ViewFreshnessRow>(`select ${COLUMNS} from view_freshness f order by f.view_name`);
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
