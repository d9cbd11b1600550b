import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import type { JournalRecord } from '../../src/command/journal.js';
import { generateMasterData, loadMasterData } from '../../src/command/master-data.js';
import { createInventoryViewsAggregator } from '../../src/consumers/aggregators/inventory-views-aggregator.js';
import { liveViewTables, recreateZoneUtilisation, viewTableNames, viewTablesFromNames } from '../../src/consumers/aggregators/view-tables.js';
import { dlqTopicOf } from '../../src/consumers/dead-letter.js';
import { createInventoryProjector } from '../../src/consumers/projectors/inventory-projector.js';
import { abortRebuild, rebuildView, type RebuildOptions, type RebuildProgress } from '../../src/consumers/rebuild.js';
import { acquireRebuildLock } from '../../src/consumers/rebuild-store.js';
import { createConsumerRunner, type ConsumerRunner } from '../../src/consumers/runner.js';
import type { InventoryEvent } from '../../src/events/generated/inventory.js';
import { createLagMonitor } from '../../src/monitor/lag-monitor.js';
import { rebuildGroupId } from '../../src/shared/group-names.js';
import { createPool, type Pool } from '../../src/db/db.js';
import { planWorkload, writeWorkload } from '../helpers/inventory-workload.js';
import { consumerFixture, foldJournal, produceRecords } from '../helpers/pipeline.js';
import { eventually, testLogger, uniqueName } from '../helpers/stack.js';
import { storedOffsetSum, viewContents, viewsAndReference } from './aggregators/view-checks.js';

/**
 * Issue 19 / 21: a rebuild of either consumer, run while events keep
 * arriving, swaps in tables equal to the incremental state and leaves nothing
 * the rest of the system can see — no rows in view_freshness or
 * consumer_offsets, no consumer group or DLQ topic in Kafka — so /readyz stays
 * ready and the lag monitor lists only live groups. Also: two rebuilds in a
 * row, and an interrupted rebuild aborted.
 */
describe('rebuild leaves no trace (real Kafka, registry, DynamoDB, PostgreSQL)', () => {
  let f: Awaited<ReturnType<typeof consumerFixture>>;
  let pool: Pool; // the rebuild's and the checks' own pool: live batches blocked on a lock must not starve them
  const master = generateMasterData();
  const projectorGroup = uniqueName('inventory-projector');
  const viewsGroup = uniqueName('inventory-views');
  const runners: ConsumerRunner[] = [];
  let records: JournalRecord[];
  let produced = 0;

  const projectorTables = [{ live: 'inventories' }, { live: 'inventory_movements' }];
  type Spec = Pick<RebuildOptions<InventoryEvent>, 'liveGroup' | 'tables' | 'makeHandler' | 'afterSwap'>;
  const projectorSpec = (): Spec => ({
    liveGroup: projectorGroup,
    tables: projectorTables,
    makeHandler: (names) =>
      createInventoryProjector({
        journal: f.journal, serde: f.serde, pool, logger: testLogger, groupId: rebuildGroupId(projectorGroup),
        tables: { inventories: names.inventories!, movements: names.inventory_movements! },
      }),
  });
  const viewsSpec = (): Spec => ({
    liveGroup: viewsGroup,
    tables: viewTableNames().map((live) => ({ live })),
    makeHandler: (names) =>
      createInventoryViewsAggregator({
        journal: f.journal, serde: f.serde, pool, logger: testLogger, groupId: rebuildGroupId(viewsGroup), tables: viewTablesFromNames(names),
      }),
    afterSwap: recreateZoneUtilisation,
  });
  const rebuild = (spec: Spec, extra: Partial<RebuildOptions<InventoryEvent>> = {}) =>
    rebuildView({ kafka: f.kafka, pool, topic: f.topic, serde: f.serde, logger: testLogger, metrics: new Registry(), batchSize: 100, ...spec, ...extra });

  const topicEnd = async () => (await f.admin.fetchTopicOffsets(f.topic)).reduce((s, p) => s + Number(p.high), 0);
  const caughtUp = async () => {
    const end = await topicEnd();
    for (const g of [projectorGroup, viewsGroup]) {
      await eventually(async () => ((await storedOffsetSum(pool, g)) === end ? true : undefined), 120_000, 300);
    }
  };
  /** Produces the next `n` journal records, in chunks of 10 with a pause: events keep arriving. */
  const feed = async (n: number) => {
    const until = Math.min(records.length, produced + n);
    while (produced < until) {
      const next = Math.min(until, produced + 10);
      await produceRecords(f.producer, f.serde, f.topic, records.slice(produced, next));
      produced = next;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  /** Nothing of a rebuild of `liveGroup` is visible anywhere once it finished or was aborted. */
  const expectNoTrace = async (liveGroup: string) => {
    const rebuildGroup = rebuildGroupId(liveGroup);
    const offsets = await pool.query('select * from consumer_offsets where group_id = $1', [rebuildGroup]);
    expect(offsets.rows).toEqual([]);
    const freshness = await pool.query<{ view_name: string; group_id: string }>(
      "select view_name, group_id from view_freshness where group_id like '%.rebuild' or view_name like '%\\_rebuild' or view_name like '%\\_old'",
    );
    expect(freshness.rows).toEqual([]);
    const state = await pool.query("select group_id from parked_events where group_id = $1 union all select group_id from view_watermarks where group_id = $1", [rebuildGroup]);
    expect(state.rows).toEqual([]);
    const tables = await pool.query<{ tablename: string }>("select tablename from pg_tables where tablename like '%\\_old' or tablename like '%\\_rebuild'");
    expect(tables.rows).toEqual([]);
    const groups = (await f.admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(projectorGroup) || g.startsWith(viewsGroup));
    expect(groups.filter((g) => g.endsWith('.rebuild'))).toEqual([]);
    expect((await f.admin.listTopics()).filter((t) => t === dlqTopicOf(f.topic, rebuildGroup))).toEqual([]);
  };

  beforeAll(async () => {
    f = await consumerFixture('rebuild-traces');
    pool = createPool(f.db.url, { max: 10 });
    await loadMasterData(f.db.pool, master);
    records = await writeWorkload(f.journal, planWorkload({ master, inventories: 30, operations: 360, seed: 19, prefix: 'RT' }));
    await feed(Math.floor(records.length / 2));
    const start = async (groupId: string, handler: Parameters<typeof createConsumerRunner<InventoryEvent>>[0]['handler']) => {
      const r = createConsumerRunner({ kafka: f.kafka, pool: f.db.pool, groupId, topics: [f.topic], serde: f.serde, handler, logger: testLogger, metrics: new Registry(), maxBatchSize: 100 });
      await r.start();
      runners.push(r);
    };
    await start(projectorGroup, createInventoryProjector({ journal: f.journal, serde: f.serde, pool: f.db.pool, logger: testLogger, groupId: projectorGroup }));
    await start(viewsGroup, createInventoryViewsAggregator({ journal: f.journal, serde: f.serde, pool: f.db.pool, logger: testLogger, groupId: viewsGroup }));
    await caughtUp();
  }, 300_000);
  afterAll(async () => {
    for (const r of runners) await r.stop().catch(() => undefined);
    await pool?.end();
    await f?.close();
  });

  it('rebuild of the projector while events keep arriving: equals the journal fold, leaves no trace', async () => {
    const progress: RebuildProgress[] = [];
    const [result] = await Promise.all([rebuild(projectorSpec(), { onProgress: (p) => progress.push(p) }), feed(Math.floor(records.length / 4))]);
    expect(result.resumed).toBe(false);
    expect(result.deadLetters).toBe(0);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)!.partitions).toHaveLength(3);
    await expectNoTrace(projectorGroup);

    await caughtUp();
    const expected = foldJournal(records.slice(0, produced));
    const rows = (await pool.query<{ persistence_id: string; on_hand: number; reserved: number; last_sequence_nr: number }>(
      'select persistence_id, on_hand, reserved, last_sequence_nr from inventories',
    )).rows;
    expect(rows).toHaveLength(expected.size);
    for (const r of rows) {
      const s = expected.get(r.persistence_id)!;
      expect([r.on_hand, r.reserved, r.last_sequence_nr], r.persistence_id).toEqual([s.onHand, s.reserved, s.sequenceNr]);
    }
    const movements = await pool.query<{ n: number }>('select count(*)::int as n from inventory_movements');
    expect(movements.rows[0]!.n).toBe(produced);
    // The live views' freshness rows belong to the live group.
    const fresh = await pool.query<{ view_name: string; group_id: string }>("select view_name, group_id from view_freshness where view_name in ('inventories', 'inventory_movements') order by 1");
    expect(fresh.rows).toEqual([
      { view_name: 'inventories', group_id: projectorGroup },
      { view_name: 'inventory_movements', group_id: projectorGroup },
    ]);
  });

  it('rebuild of the views while events keep arriving: equals the GROUP BY over the read model, leaves no trace', async () => {
    const [result] = await Promise.all([rebuild(viewsSpec()), feed(records.length)]);
    expect(result.resumed).toBe(false);
    await expectNoTrace(viewsGroup);
    await caughtUp();
    const v = await viewsAndReference(pool);
    expect(v.zone.length).toBeGreaterThan(0);
    expect(v.zone).toEqual(v.zoneRef);
    expect(v.category).toEqual(v.categoryRef);
    expect(v.daily).toEqual(v.dailyRef);
    expect(v.openAlerts).toEqual(v.openAlertsRef);
    // zone_utilisation reads the swapped-in stock table.
    const util = await pool.query<{ n: number }>(
      'select count(*)::int as n from zone_utilisation u join stock_by_warehouse_zone s using (warehouse_id, zone_id) where u.on_hand = s.on_hand',
    );
    expect(util.rows[0]!.n).toBe(v.zone.length);
  });

  it('after the swaps /readyz stays ready past READY_MAX_STALENESS_MS while new events arrive, and the lag monitor shows only live groups', async () => {
    // Fresh journal events (their written_at is now), applied by the live groups only.
    const fresh = await writeWorkload(f.journal, planWorkload({ master, inventories: 3, operations: 12, seed: 20, prefix: 'RF', startTime: Date.now() - 60_000, spanMs: 50_000 }));
    await produceRecords(f.producer, f.serde, f.topic, fresh);
    await caughtUp();
    const monitor = createLagMonitor({ kafka: f.kafka, pool, groups: 'all', registry: new Registry(), logger: testLogger, pollIntervalMs: 1000 });
    try {
      const boundMs = 4000;
      const app = createApp({
        pool, logger: testLogger, metrics: new Registry(), readiness: { checks: [] }, staleness: { upToDateMs: 1000, slightlyStaleMs: 2000 },
        readyMaxStalenessMs: boundMs, lag: () => monitor.snapshot(), lagMaxAgeMs: 60_000,
      });
      await monitor.pollOnce();
      await new Promise((r) => setTimeout(r, boundMs + 1000));
      const snap = await monitor.pollOnce();
      const ours = snap.groups.map((g) => g.group).filter((g) => g.startsWith(projectorGroup) || g.startsWith(viewsGroup));
      expect(ours.sort()).toEqual([projectorGroup, viewsGroup].sort());
      const res = await app.request('/readyz');
      const body = (await res.json()) as { status: string; checks: { name: string; ok: boolean; error?: string }[] };
      expect(body.checks.find((c) => c.name === 'views')).toMatchObject({ ok: true });
      expect(res.status).toBe(200);

      // A crashed rebuild's freshness rows (an hour behind) do not count; a live view that far behind does.
      const old = new Date(Date.now() - 3_600_000);
      await pool.query(
        `insert into view_freshness(view_name, group_id, last_source_time, last_event_time, last_commit_time)
         values ('inventories_rebuild', $1, $2, $2, now())`,
        [rebuildGroupId(projectorGroup), old],
      );
      expect((await app.request('/readyz')).status).toBe(200);
      await pool.query(
        `insert into view_freshness(view_name, group_id, last_source_time, last_event_time, last_commit_time) values ('some_live_view', $1, $2, $2, now())`,
        [projectorGroup, old],
      );
      const stale = await app.request('/readyz');
      expect(stale.status).toBe(503);
      expect(JSON.stringify(await stale.json())).toContain('some_live_view');
      expect(JSON.stringify(await (await app.request('/readyz')).json())).not.toContain('inventories_rebuild');
    } finally {
      await pool.query("delete from view_freshness where view_name in ('inventories_rebuild', 'some_live_view')");
      await monitor.stop();
    }
  });

  it('two rebuilds in a row on a quiet pipeline both finish and equal the incremental state', async () => {
    await caughtUp();
    const projectorBefore = (await pool.query('select persistence_id, on_hand, reserved, last_sequence_nr, violations from inventories order by 1')).rows;
    const viewsBefore = await viewContents(pool, liveViewTables);
    for (const round of [1, 2]) {
      for (const spec of [projectorSpec(), viewsSpec()]) {
        const result = await rebuild(spec);
        expect(result.events, `round ${round} ${spec.liveGroup}`).toBe(await topicEnd());
        await expectNoTrace(spec.liveGroup);
      }
      expect((await pool.query('select persistence_id, on_hand, reserved, last_sequence_nr, violations from inventories order by 1')).rows).toEqual(projectorBefore);
      expect(await viewContents(pool, liveViewTables)).toEqual(viewsBefore);
    }
  });

  it('one rebuild per consumer at a time: a second rebuild and an abort are refused while one runs', async () => {
    const lock = await acquireRebuildLock(pool, rebuildGroupId(projectorGroup));
    try {
      await expect(rebuild(projectorSpec())).rejects.toThrow(/a rebuild of .* is running in another process/);
      await expect(abortRebuild({ kafka: f.kafka, pool, topic: f.topic, liveGroup: projectorGroup, tables: projectorTables, logger: testLogger })).rejects.toThrow(
        /is running in another process/,
      );
      // The other consumer's rebuild is independent.
      const other = await acquireRebuildLock(pool, rebuildGroupId(viewsGroup));
      await other.release();
    } finally {
      await lock.release();
    }
    await expectNoTrace(projectorGroup);
  });

  it('an interrupted rebuild keeps what resumption needs; --abort then removes everything and the live views are untouched', async () => {
    const before = await viewContents(pool, liveViewTables);
    // Hold the live group's offset rows: the rebuild catches up but cannot swap, and says why.
    const holder = await pool.connect();
    const ac = new AbortController();
    let waiting: RebuildProgress | undefined;
    try {
      await holder.query('begin');
      await holder.query('select * from consumer_offsets where group_id = $1 for update', [viewsGroup]);
      const run = rebuild(viewsSpec(), {
        signal: ac.signal,
        swapLockTimeoutMs: 300,
        stallAfterMs: 1000,
        onProgress: (p) => {
          if (p.stalled.some((s) => s.state === 'waiting')) {
            waiting = p;
            ac.abort();
          }
        },
      });
      await expect(run).rejects.toThrow(/rebuild interrupted/);
    } finally {
      await holder.query('rollback');
      holder.release();
    }
    expect(waiting!.stalled[0]!.reason).toBe('waiting for the live group: its offset rows are locked by a batch in flight');
    // Interrupted: shadow tables and offsets stay (resumable), the Kafka group is gone already.
    const shadow = await pool.query<{ n: number }>("select count(*)::int as n from pg_tables where tablename like '%\\_rebuild'");
    expect(shadow.rows[0]!.n).toBe(viewTableNames().length);
    expect(await storedOffsetSum(pool, rebuildGroupId(viewsGroup))).toBe(await topicEnd());
    const groups = (await f.admin.listGroups()).groups.map((g) => g.groupId);
    expect(groups).not.toContain(rebuildGroupId(viewsGroup));

    const report = await abortRebuild({ kafka: f.kafka, pool, topic: f.topic, liveGroup: viewsGroup, tables: viewsSpec().tables, logger: testLogger });
    expect(report.tables.sort()).toEqual(viewTableNames().map((t) => `${t}_rebuild`).sort());
    expect(report.offsetRows).toBe(3);
    expect(report.freshnessRows).toBeGreaterThan(0);
    expect(report.kafkaGroup).toBe('absent');
    expect(report.dlqTopic).toBe('deleted');
    await expectNoTrace(viewsGroup);
    expect(await viewContents(pool, liveViewTables)).toEqual(before);

    // A second abort finds nothing; the live group still applies new events.
    const again = await abortRebuild({ kafka: f.kafka, pool, topic: f.topic, liveGroup: viewsGroup, tables: viewsSpec().tables, logger: testLogger });
    expect(again).toEqual({ tables: [], offsetRows: 0, stateRows: 0, freshnessRows: 0, kafkaGroup: 'absent', dlqTopic: 'absent', dlqRecords: 0 });
    const more = await writeWorkload(f.journal, planWorkload({ master, inventories: 2, operations: 6, seed: 21, prefix: 'RA', startTime: Date.now() - 60_000, spanMs: 50_000 }));
    await produceRecords(f.producer, f.serde, f.topic, more);
    await caughtUp();
    const v = await viewsAndReference(pool);
    expect(v.zone).toEqual(v.zoneRef);
  });
});
