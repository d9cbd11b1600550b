import type { PoolClient } from '../db/db.js';
import type { HandlerOutcome } from './handler.js';

/**
 * Records, in the batch's transaction, how fresh each view of the group is:
 * the newest journal time and event time applied, the newest canary
 * heartbeat's journal time, and now as the commit time.
 * Times only move forward (a redelivered or repaired older event cannot make
 * a view look older than it is). The API and the lag monitor read these rows.
 */
export async function recordViewFreshness(
  tx: PoolClient,
  views: readonly string[],
  groupId: string,
  outcome: HandlerOutcome<unknown>,
  newestCanary?: number,
): Promise<void> {
  if (views.length === 0 || (!outcome.newestSourceTime && !outcome.newestEventTime && !newestCanary)) return;
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
    [views, groupId, outcome.newestSourceTime ?? null, outcome.newestEventTime ?? null, newestCanary ?? null],
  );
}
