import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../src/command/journal.js';
import { dlqTopicOf } from '../../src/consumers/dead-letter.js';
import { createInventoryProjector, INVENTORY_PROJECTOR_GROUP } from '../../src/consumers/projectors/inventory-projector.js';
import { createConsumerRunner } from '../../src/consumers/runner.js';
import { liveGroupId } from '../../src/shared/group-names.js';
import { expectReadModelEqualsJournal } from '../helpers/oracle-checks.js';
import { consumerFixture, freshRegistry, produceRecords, writeHistory } from '../helpers/pipeline.js';
import { spawnCli, writeConnector } from '../helpers/process.js';
import { eventually, testLogger, uniqueName } from '../helpers/stack.js';

/**
 * `cli integrity` and `cli integrity --repair` as an operator runs them,
 * against read-model damage planted behind the projector's back: an
 * inventory restored from an old backup (row and movements back at an older
 * sequence number), one whose last event was lost (row and movement), and one
 * whose row was deleted. The check must name each, exit 3, and the repair
 * must bring the read model back to the independent oracle's fold of the journal.
 */
describe('cli integrity finds and repairs a damaged read model', () => {
  const prefix = `${uniqueName('ig')}.`;
  const groupId = liveGroupId(prefix, INVENTORY_PROJECTOR_GROUP);
  let f: Awaited<ReturnType<typeof consumerFixture>>;
  let records: JournalRecord[];
  let env: Record<string, string>;

  const integrity = async (...args: string[]) => {
    const p = spawnCli(['integrity', ...args], env);
    const code = await p.exited;
    const out = p.output();
    let summary: { journalIds: number; readModelIds: number; findings: number; repaired: number };
    try {
      summary = JSON.parse(out.trim().split('\n').at(-1)!) as typeof summary;
    } catch {
      throw new Error(`integrity ${args.join(' ')} exited ${code} without its summary:\n${out.slice(-3000)}`);
    }
    return { code, out, summary };
  };

  beforeAll(async () => {
    f = await consumerFixture('integrity');
    records = await writeHistory(f.journal, 6, 6, 'IG');
    await produceRecords(f.producer, f.serde, f.topic, records);
    const runner = createConsumerRunner({
      kafka: f.kafka, pool: f.db.pool, groupId, topics: [f.topic], serde: f.serde,
      handler: createInventoryProjector({ journal: f.journal, serde: f.serde, pool: f.db.pool, logger: testLogger, groupId }),
      logger: testLogger, metrics: freshRegistry(),
    });
    await runner.start();
    await eventually(async () => {
      const { rows } = await f.db.pool.query<{ n: number }>('select count(*)::int as n from inventory_movements');
      return rows[0]!.n === records.length ? true : undefined;
    }, 120_000, 300);
    await runner.stop();
    env = { DATABASE_URL: f.db.url, CONNECTOR_FILE: writeConnector(f.table, f.topic), GROUP_PREFIX: prefix, LOG_LEVEL: 'error' };
  }, 300_000);
  afterAll(async () => {
    await f?.admin.deleteTopics({ topics: [f.topic, dlqTopicOf(f.topic, groupId)] }).catch(() => undefined);
    await f?.close();
  });

  it('a clean read model has no findings and exits 0', async () => {
    const { code, summary, out } = await integrity();
    expect(code, out).toBe(0);
    expect(summary).toMatchObject({ journalIds: 6, readModelIds: 6, findings: 0, repaired: 0 });
  });

  it('names each planted difference and exits 3; --repair fixes them and the read model equals the journal again', async () => {
    const pool = f.db.pool;
    // Back to the state after `seq`, as a restore from a backup taken then would leave it.
    const restoreTo = async (pid: string, seq: number) => {
      const { rows } = await pool.query<{ on_hand_after: number; reserved_after: number }>(
        'select on_hand_after, reserved_after from inventory_movements where persistence_id = $1 and sequence_nr = $2', [pid, seq]);
      await pool.query('update inventories set on_hand = $2, reserved = $3, last_sequence_nr = $4 where persistence_id = $1', [pid, rows[0]!.on_hand_after, rows[0]!.reserved_after, seq]);
      await pool.query('delete from inventory_movements where persistence_id = $1 and sequence_nr > $2', [pid, seq]);
    };
    await restoreTo('inventory-IG-00001', 3); // an old backup: three events behind
    await restoreTo('inventory-IG-00002', 5); // the last event lost (its row change and its movement)
    await pool.query("delete from inventories where persistence_id = 'inventory-IG-00004'"); // the row deleted, its movements kept

    const found = await integrity();
    expect(found.code, found.out).toBe(3);
    expect(found.out).toMatch(/behind\s+inventory-IG-00001 journal=6 read-model=3/);
    expect(found.out).toMatch(/behind\s+inventory-IG-00002 journal=6 read-model=5/);
    expect(found.out).toMatch(/missing\s+inventory-IG-00004 journal=6 read-model=-/);
    expect(found.summary).toMatchObject({ findings: 3, repaired: 0 });
    // Finding is not repairing: nothing changed.
    const still = await pool.query<{ n: number }>('select count(*)::int as n from inventories');
    expect(still.rows[0]!.n).toBe(5);

    const repaired = await integrity('--repair');
    expect(repaired.code, repaired.out).toBe(0);
    expect(repaired.summary).toMatchObject({ findings: 3, repaired: 3 + 1 + 6 });

    const after = await integrity();
    expect(after.code, after.out).toBe(0);
    expect(after.summary).toMatchObject({ findings: 0 });
    await expectReadModelEqualsJournal(pool, records);
  });
});
