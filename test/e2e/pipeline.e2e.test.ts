import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../src/command/journal.js';
import { INVENTORY_PROJECTOR_GROUP } from '../../src/consumers/projectors/inventory-projector.js';
import { expectReadModelEqualsJournal, expectViewsEqualReadModel, readJournal, topicCounts, waitForProjector } from '../helpers/assertions.js';
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

    // 2. Read model = fold of the journal, per inventory; 3. movements = journal events.
    const inv = { rows: await expectReadModelEqualsJournal(db.pool, records) };

    // 4. Each aggregate view = GROUP BY over the read model.
    await expectViewsEqualReadModel(db.pool);

    // 5. API answers = the database.
    const sample = inv.rows.slice(0, 10);
    for (const r of sample) {
      const res = await fetch(`${api}/inventories/${encodeURIComponent(r.persistence_id)}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { onHand: number; reserved: number; consistencyStatus: string };
      expect([body.onHand, body.reserved]).toEqual([r.on_hand, r.reserved]);
      expect(['UP_TO_DATE', 'SLIGHTLY_STALE', 'STALE']).toContain(body.consistencyStatus);
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
