-- Read side of the inventory projector and the bookkeeping every consumer
-- group of the pipeline shares.

-- Offsets a consumer group has applied, committed in the SAME transaction as
-- the view rows they produced: this row is what makes a batch's effect
-- exactly-once. next_offset uses Kafka's committed-offset meaning (the next
-- offset to read). A consumer locks the row (FOR UPDATE) before applying a
-- batch and skips records below it, so a batch of a partition that was
-- revoked and reassigned meanwhile can never apply twice.
create table consumer_offsets (
  group_id    text        not null,
  topic       text        not null,
  partition   integer     not null,
  next_offset bigint      not null,
  updated_at  timestamptz not null default now(),
  primary key (group_id, topic, partition)
);

-- How fresh each view is: the newest source (journal written_at) time applied
-- and when it was committed. The API and the lag monitor read it.
create table view_freshness (
  view_name        text primary key,
  group_id         text        not null,
  last_source_time timestamptz,
  last_event_time  timestamptz,
  last_commit_time timestamptz not null default now()
);

-- One row per inventory aggregate (product × warehouse × zone).
create table inventories (
  persistence_id            text primary key,
  inventory_id              text        not null unique,
  product_id                text        not null,
  warehouse_id              text        not null,
  zone_id                   text        not null,
  product_storage_condition text        not null,
  zone_type                 text        not null,
  on_hand                   integer     not null check (on_hand >= 0),
  reserved                  integer     not null check (reserved >= 0),
  available                 integer generated always as (on_hand - reserved) stored,
  violations                integer     not null default 0,
  last_sequence_nr          bigint      not null,
  last_event_at             timestamptz not null,
  last_source_written_at    timestamptz,
  updated_at                timestamptz not null default now(),
  deleted                   boolean     not null default false,
  check (reserved <= on_hand)
);
create index inventories_warehouse_zone on inventories (warehouse_id, zone_id, persistence_id);
create index inventories_product on inventories (product_id);

-- Append-only audit log: one row per journal event, in sequence order per
-- inventory. (persistence_id, sequence_nr) is unique: applying twice fails
-- loudly instead of doubling.
create table inventory_movements (
  persistence_id   text        not null,
  sequence_nr      bigint      not null,
  event_id         text        not null,
  event_type       text        not null,
  movement_type    text        not null,
  quantity         integer     not null,
  on_hand_before   integer     not null,
  on_hand_after    integer     not null,
  reserved_before  integer     not null,
  reserved_after   integer     not null,
  warehouse_id     text        not null,
  zone_id          text        not null,
  event_time       timestamptz not null,
  correlation_id   text        not null,
  causation_id     text,
  detail           jsonb       not null default '{}',
  recorded_at      timestamptz not null default now(),
  primary key (persistence_id, sequence_nr)
);
create index inventory_movements_time on inventory_movements (persistence_id, event_time, sequence_nr);

-- Events that arrived after a gap the journal could not fill yet (seed 000
-- strategy 3, improved): they wait here, per persistence id, while other ids
-- keep flowing, and are applied as soon as the missing range can be read.
create table parked_events (
  group_id       text        not null,
  persistence_id text        not null,
  sequence_nr    bigint      not null,
  event_type     text        not null,
  event          jsonb       not null,
  source_written_at timestamptz,
  parked_at      timestamptz not null default now(),
  primary key (group_id, persistence_id, sequence_nr)
);
