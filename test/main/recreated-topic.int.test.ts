import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INVENTORY_PROJECTOR_GROUP } from '../../src/consumers/projectors/inventory-projector.js';
import { INVENTORY_VIEWS_GROUP } from '../../src/consumers/aggregators/inventory-views-aggregator.js';
import { expectReadModelEqualsJournal, expectViewsEqualJournal, expectViewsEqualReadModel, readJournal, waitForProjector } from '../helpers/assertions.js';
import { createPipelineEnv, type PipelineEnv } from '../helpers/pipeline-env.js';
import { spawnCli, type CliProcess } from '../helpers/process.js';
import { eventually, kafka } from '../helpers/stack.js';

/**
 * Issue 34's reproduction, as an operator runs it: the pipeline catches up,
 * the event topic and the bridge's checkpoint topic are deleted and set up
 * again (a recreated topic, a move to another cluster), more events arrive,
 * the roles start again. The consumers must not read on from offsets stored
 * for the old topic: they stay stopped with an ERROR that says why and what
 * to do, /readyz names the partitions; after the documented remedy (`offsets
 * reset --to earliest` for each group) the read model, movements and views
 * equal the journal again.
 */
describe('a recreated topic under stored offsets (real CLI processes)', () => {
  let p: PipelineEnv;
  const procs: CliProcess[] = [];
  const groups = () => [`${p.prefix}${INVENTORY_PROJECTOR_GROUP}`, `${p.prefix}${INVENTORY_VIEWS_GROUP}`];

  beforeAll(async () => {
    p = await createPipelineEnv('recreate', { LOG_LEVEL: 'error', SHUTDOWN_TIMEOUT_MS: '10000' });
  });
  afterAll(async () => {
    for (const x of procs) await x.kill9().catch(() => undefined);
    await p?.db.drop();
  });

  const run = async () => {
    const roles = spawnCli(['run', '--roles', 'bridge,projector,views,api'], p.env);
    procs.push(roles);
    await eventually(async () => ((await fetch(`${p.api}/healthz`).catch(() => undefined))?.ok ? true : undefined), 90_000, 500).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${roles.output().slice(-3000)}`);
    });
    return roles;
  };
  const cli = async (args: string[]) => {
    const c = spawnCli(args, p.env);
    procs.push(c);
    const code = await c.exited;
    expect(code, c.output()).toBe(0);
    return c.output();
  };
  const load = (count: number, prefix: string) =>
    cli(['load', '--profile', 'flat', '--rate', '0', '--count', String(count), '--inventories', '40', '--seed', '34', '--prefix', prefix]);
  const storedRows = async () =>
    (await p.db.pool.query<{ group_id: string; partition: number; next_offset: string; blocked_reason: string | null }>(
      'select group_id, partition, next_offset, blocked_reason from consumer_offsets order by group_id, partition',
    )).rows;

  it('stays stopped with the reason until the offsets are reset on purpose, then equals the journal', async () => {
    // 1. The pipeline catches up.
    let roles = await run();
    await load(600, 'RT');
    const first = await readJournal(p.table);
    await waitForProjector(p.db.pool, first.marks);
    await expectViewsEqualReadModel(p.db.pool);
    expect(await roles.terminate()).toBe(0);

    // 2. The topics are deleted and set up again; more events arrive.
    const k = kafka('recreate');
    const admin = k.admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: [p.topic, `${p.topic}.checkpoints`], timeout: 30_000 });
      await eventually(async () => ((await admin.listTopics()).some((t) => t === p.topic || t === `${p.topic}.checkpoints`) ? undefined : true), 60_000, 250);
    } finally {
      await admin.disconnect();
    }
    await eventually(async () => {
      const s = spawnCli(['setup'], p.env);
      return (await s.exited) === 0 ? true : undefined;
    }, 60_000, 1000);
    await load(200, 'RT2');
    const before = await storedRows();
    const inventoriesBefore = (await p.db.pool.query<{ n: number }>('select count(*)::int as n from inventories')).rows[0]!.n;

    // 3. The roles start again: every partition of both groups stays stopped, loudly.
    roles = await run();
    const blocked = await eventually(async () => {
      const rows = await storedRows();
      return rows.length === before.length && rows.every((r) => r.blocked_reason !== null) ? rows : undefined;
    }, 90_000, 500).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${roles.output().slice(-3000)}`);
    });
    expect(new Set(blocked.map((r) => r.group_id))).toEqual(new Set(groups()));
    for (const r of blocked) expect(r.blocked_reason).toMatch(/was stored for topic ID [0-9a-f-]{36}, and the topic now has ID [0-9a-f-]{36}/);
    const ready = await fetch(`${p.api}/readyz`);
    const body = await ready.text();
    expect(ready.status, body).toBe(503);
    for (const g of groups()) {
      expect(body).toContain(`${g} stopped partitions ${p.topic} 0,1,2 (topic-recreated); see offsets check --group ${g}`);
    }
    // One ERROR per partition, naming the remedy; nothing was applied.
    const errors = roles.output().split('\n').filter((l) => l.includes('partition stopped, nothing of it is applied'));
    expect(errors).toHaveLength(before.length);
    expect(errors.every((l) => l.includes('offsets reset --group') && l.includes('"level":50'))).toBe(true);
    expect((await storedRows()).map((r) => Number(r.next_offset))).toEqual(before.map((r) => Number(r.next_offset)));
    expect((await p.db.pool.query<{ n: number }>('select count(*)::int as n from inventories')).rows[0]!.n).toBe(inventoriesBefore);
    expect(await roles.terminate()).toBe(0);

    // 4. The documented remedy, then the pipeline equals the journal.
    for (const g of groups()) {
      const out = await cli(['offsets', 'reset', '--group', g, '--to', 'earliest']);
      expect(out).toContain(`moving ${g} on ${p.topic}`);
      expect(out).toMatch(/lifts: .*was stored for topic ID/);
    }
    const afterReset = await storedRows();
    expect(afterReset.every((r) => r.blocked_reason === null && Number(r.next_offset) === 0), JSON.stringify(afterReset)).toBe(true);
    roles = await run();
    const all = await readJournal(p.table);
    await waitForProjector(p.db.pool, all.marks);
    await expectReadModelEqualsJournal(p.db.pool, all.records);
    await expectViewsEqualJournal(p.db.pool, all.records);
    expect((await fetch(`${p.api}/readyz`)).status).toBe(200);
    expect(await roles.terminate()).toBe(0);
  });
});
