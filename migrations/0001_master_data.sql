-- Master data of the inventory domain (seed 001, part 3): warehouses, their
-- zones, companies, customers and products. These rows are reference data,
-- not event-sourced: they are loaded by loadMasterData (src/command/master-data.ts)
-- from a deterministic generator, and the projections join against them.
--
-- Ids are readable, stable strings (WH-TYO, WH-TYO-CHILLED, P-000123, C-0042,
-- CO-0007) because the same ids travel inside events and Kafka keys; a
-- surrogate serial would differ between environments and replays.
-- The format checks catch a wrongly built id at load time rather than as a
-- join that silently matches nothing later.

create table warehouses (
  warehouse_id   text primary key check (warehouse_id ~ '^WH-[A-Z]{3}$'),
  name           text not null,
  location       text not null,
  floor_area_m2  integer not null check (floor_area_m2 > 0),
  capacity_units bigint not null check (capacity_units > 0)
);

-- One zone per storage temperature per warehouse. The write side resolves
-- (warehouse, storage condition) to a zone, so (warehouse_id, zone_type) is
-- unique, and the zone id is derived from both so no lookup is needed to
-- build it. "Sum of zone capacities <= warehouse capacity" spans rows and so
-- is not a constraint here; the generator guarantees it and a test checks it.
create table warehouse_zones (
  zone_id             text primary key,
  warehouse_id        text not null references warehouses (warehouse_id),
  name                text not null,
  zone_type           text not null check (zone_type in ('AMBIENT', 'CHILLED', 'FROZEN')),
  capacity_units      bigint not null check (capacity_units > 0),
  -- Units per inventory (product x zone) below which a replenishment alert is
  -- raised. Per zone, because chilled and frozen goods turn over faster and
  -- are held in smaller quantities than ambient ones.
  low_stock_threshold integer not null default 20 check (low_stock_threshold >= 0),
  unique (warehouse_id, zone_type),
  check (zone_id = warehouse_id || '-' || zone_type)
);

-- The wholesaler itself (OWN, exactly one expected) and its trading partners.
create table companies (
  company_id   text primary key check (company_id ~ '^CO-[0-9]{4,}$'),
  name         text not null,
  company_type text not null check (company_type in ('OWN', 'PARTNER'))
);

-- A customer is a trading account; several accounts (regional divisions,
-- stores of one restaurant group) can belong to one company.
create table customers (
  customer_id   text primary key check (customer_id ~ '^C-[0-9]{4,}$'),
  company_id    text not null references companies (company_id),
  name          text not null,
  customer_type text not null check (customer_type in ('SUPERMARKET', 'CONVENIENCE_STORE', 'RESTAURANT', 'RETAILER'))
);
-- PostgreSQL does not index the referencing side of a foreign key; "accounts
-- of a company" and deleting a company would otherwise scan customers.
create index customers_company_id_idx on customers (company_id);

create table products (
  product_id        text primary key check (product_id ~ '^P-[0-9]{6,}$'),
  -- JAN (EAN-13) code as printed on the package: what scanners and partners use.
  sku               text not null unique,
  name              text not null,
  category          text not null check (category in ('FOOD', 'DAILY_GOODS')),
  storage_condition text not null check (storage_condition in ('AMBIENT', 'CHILLED', 'FROZEN')),
  description       text not null default '',
  -- Reference only (out of scope for the inventory model), hence nullable.
  price_yen         integer check (price_yen >= 0),
  -- Daily goods are always stored at ambient temperature (seed 001, 3.1).
  check (category = 'FOOD' or storage_condition = 'AMBIENT')
);
-- The workload generator and the zone views select products by the zone type
-- they may go into, optionally narrowed by category: storage_condition leads.
create index products_storage_condition_category_idx on products (storage_condition, category);
-- Category-only filters (food vs daily goods reports) cannot use the index above.
create index products_category_idx on products (category);

-- What master data is loaded (generator version, seed, counts, checksum), so
-- loading again with the same input is a no-op and a different input is a
-- visible, deliberate reload.
create table master_data_meta (
  key        text primary key,
  value      text not null,
  updated_at timestamptz not null default now()
);
