import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../src/command/journal.js';
import { INVENTORY_PROJECTOR_GROUP } from '../../src/consumers/projectors/inventory-projector.js';
import { createRandom } from '../../src/shared/random.js';
import { consumerFixture, foldJournal, produceRecords, writeHistory } from '../helpers/pipeline.js';
import { spawnCli, writeConnector, type CliProcess } from '../helpers/process.js';
import { eventually, uniqueName } from '../helpers/stack.js';

/**
 * kill -9 of the projector process (the real CLI) at random points while the
 * topic is being fed: afterwards the read model equals the fold of the journal
 * and the audit log has each journal event exactly once.
 */
describe('projector survives kill -9 mid-batch (real CLI process)', () => {
  const prefix = `${uniqueName('t')}.`;
  let f: Awaited<ReturnType<typeof consumerFixture>>;
  let records: JournalRecord[];
  let env: Record<string, string>;
  const procs: CliProcess[] = [];

  beforeAll(async () => {
    f = await consumerFixture('kill');
    records = await writeHistory(f.journal, 60, 10, "K");
    env = { DATABASE_URL: f.db.url, CONNECTOR_FILE: writeConnector(f.table, f.topic), GROUP_PREFIX: prefix, CONSUMER_BATCH_SIZE: '50' };
  });
  afterAll(async () => {
    for (const p of procs) await p.kill9().catch(() => undefined);
    await f?.close();
  });

  it('read model = fold of the journal, movements = journal events, after 8 kills', async () => {
    const { serde, producer, topic, db } = f;
    const rnd = createRandom(7);
    const chunks = 8;
    const size = Math.ceil(records.length / chunks);
    for (let i = 0; i < chunks; i++) {
      await produceRecords(producer, serde, topic, records.slice(i * size, (i + 1) * size));
      const p = spawnCli(['run', '--roles', 'projector'], env);
      procs.push(p);
      // Let it join and apply some batches, then kill it wherever it is.
      await new Promise((r) => setTimeout(r, 2500 + rnd.int(0, 2000)));
      await p.kill9();
    }
    const final = spawnCli(['run', '--roles', 'projector'], env);
    procs.push(final);
    const expected = foldJournal(records);
    const groupId = `${prefix}${INVENTORY_PROJECTOR_GROUP}`;
    await eventually(async () => {
      const { rows } = await db.pool.query<{ n: number }>('select coalesce(sum(next_offset), 0)::int as n from consumer_offsets where group_id = $1', [groupId]);
      return rows[0]!.n === records.length ? true : undefined;
    }, 120_000, 500).catch((err: unknown) => {
      throw new Error(`${String(err)}\nprojector output:\n${final.output().slice(-3000)}\nfirst run:\n${procs[0]!.output().slice(-2000)}`);
    });
    expect(await final.terminate()).toBe(0);

    const { rows } = await db.pool.query<{ persistence_id: string; on_hand: number; reserved: number; last_sequence_nr: number }>(
      'select persistence_id, on_hand, reserved, last_sequence_nr from inventories',
    );
    expect(rows).toHaveLength(expected.size);
    for (const r of rows) {
      const s = expected.get(r.persistence_id)!;
      expect([r.on_hand, r.reserved, r.last_sequence_nr], r.persistence_id).toEqual([s.onHand, s.reserved, s.sequenceNr]);
    }
    const m = await db.pool.query<{ n: number; d: number }>(
      'select count(*)::int as n, count(distinct (persistence_id, sequence_nr))::int as d from inventory_movements',
    );
    expect(m.rows[0]).toEqual({ n: records.length, d: records.length });
  });
});
