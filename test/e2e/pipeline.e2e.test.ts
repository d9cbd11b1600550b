import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../src/command/journal.js';
import { INVENTORY_PROJECTOR_GROUP } from '../../src/consumers/projectors/inventory-projector.js';
import { expectReadModelEqualsJournal, expectViewsEqualJournal, expectViewsEqualReadModel, readJournal, topicCounts, waitForProjector } from '../helpers/assertions.js';
import { createPipelineEnv } from '../helpers/pipeline-env.js';
import { spawnCli, type CliProcess } from '../helpers/process.js';
import { eventually, type TestDatabase } from '../helpers/stack.js';

/**
 * The whole pipeline, each part real and in its own process as an operator
 * runs it: load generator → DynamoDB journal → bridge → Kafka → projector +
 * aggregators → PostgreSQL → API. Then every promise is checked exactly.
 */
describe('pipeline end to end', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let api: string;
  let table: string;
  let topic: string;
  let prefix: string;
  const procs: CliProcess[] = [];
  let records: JournalRecord[] = [];

  beforeAll(async () => {
    ({ db, env, api, table, topic, prefix } = await createPipelineEnv('e2e'));
    env.LAG_GROUPS = `${prefix}${INVENTORY_PROJECTOR_GROUP},${prefix}inventory-views`;
  });
  afterAll(async () => {
    for (const p of procs) await p.kill9().catch(() => undefined);
    await db?.drop();
  });

  it('journal → topic → views → API, exactly', async () => {
    const pipeline = spawnCli(['run', '--roles', 'bridge,projector,views,monitor,api'], env);
    procs.push(pipeline);
    await eventually(async () => ((await fetch(`${api}/healthz`).catch(() => undefined))?.ok ? true : undefined), 60_000, 500).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${pipeline.output().slice(-3000)}`);
    });

    const load = spawnCli(['load', '--profile', 'flat', '--rate', '0', '--count', '800', '--inventories', '60', '--seed', '5', '--legacy-share', '0.2', '--prefix', 'E2E'], env);
    procs.push(load);
    expect(await load.exited, load.output()).toBe(0);

    // The journal is the truth.
    const { records: all, marks } = await readJournal(table);
    records = all;
    expect(records.length).toBeGreaterThanOrEqual(800);
    await waitForProjector(db.pool, marks).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${pipeline.output().slice(-3000)}`);
    });

    // 1. Every journal event is in the committed topic exactly once.
    const seen = await topicCounts(topic, records.length);
    expect(seen.size).toBe(records.length);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);

    // 2. Read model = the independent oracle's fold of the journal, per inventory; 3. movements = journal events.
    const inv = { rows: await expectReadModelEqualsJournal(db.pool, records) };

    // 4. Each aggregate view = the oracle's GROUP BY over the journal, and the GROUP BY over the read model.
    await expectViewsEqualJournal(db.pool, records);
    await expectViewsEqualReadModel(db.pool);

    // 5. API answers = the database.
    // The pipeline is caught up and the canary runs (every 1 s by default): each answer must come to say
    // UP_TO_DATE (lag ≤ 1 s), waited for with a generous bound since a busy machine can delay a heartbeat.
    const sample = inv.rows.slice(0, 10);
    for (const r of sample) {
      const body = await eventually(async () => {
        const res = await fetch(`${api}/inventories/${encodeURIComponent(r.persistence_id)}`);
        const b = (await res.json()) as { onHand: number; reserved: number; consistencyStatus: string; lagSeconds: number | null };
        return res.status === 200 && b.consistencyStatus === 'UP_TO_DATE' ? b : undefined;
      }, 60_000, 500).catch((err: unknown) => {
        throw new Error(`${r.persistence_id} never answered UP_TO_DATE in a caught-up pipeline: ${String(err)}\n${pipeline.output().slice(-2000)}`);
      });
      expect([body.onHand, body.reserved], r.persistence_id).toEqual([r.on_hand, r.reserved]);
      expect(body.lagSeconds, r.persistence_id).not.toBeNull();
      expect(body.lagSeconds!, r.persistence_id).toBeLessThanOrEqual(1);
    }
    const view = (await (await fetch(`${api}/views/stock-by-warehouse-zone`)).json()) as { data: { warehouseId: string; zoneId: string; onHand: number }[] };
    const dbView = await db.pool.query<{ warehouse_id: string; zone_id: string; on_hand: number }>('select warehouse_id, zone_id, on_hand from stock_by_warehouse_zone');
    for (const row of dbView.rows) {
      const a = view.data.find((v) => v.warehouseId === row.warehouse_id && v.zoneId === row.zone_id);
      expect(Number(a?.onHand)).toBe(Number(row.on_hand));
    }
    const lag = await fetch(`${api}/lag`);
    expect(lag.status).toBe(200);

    expect(await pipeline.terminate()).toBe(0);
  });
});
