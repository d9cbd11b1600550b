-- Stock by product category × storage condition over time (a view of the
-- `inventory-views` group): the net stock change of each UTC day (event time)
-- per category and condition, kept by deltas like stock_by_category_condition.
-- The stock at the end of a day is the running sum of the changes up to it,
-- so the last day's sums equal stock_by_category_condition, and an event that
-- arrives late changes its own day (and with it every later day's sum).
-- A day without a row had no change.
--
-- Deployed on a running pipeline the table starts empty: fill it with
-- `rebuild inventory-views` (from offset 0 into shadow tables, swapped in
-- atomically while the live views keep serving).
create table stock_by_category_daily (
  category               text        not null,
  storage_condition      text        not null,
  day                    date        not null,
  on_hand_change         bigint      not null default 0,
  reserved_change        bigint      not null default 0,
  inventory_count_change integer     not null default 0,
  updated_at             timestamptz not null default now(),
  primary key (category, storage_condition, day)
);
