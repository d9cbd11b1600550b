-- The end-to-end canary: journal written_at of the newest heartbeat event a
-- view's consumer group has applied (see src/shared/canary.ts). Written in the
-- same transaction as the group's offsets, so it says how far the whole
-- pipeline — journal, bridge, topic, consumer — has come for this view.
alter table view_freshness add column last_canary_time timestamptz;
