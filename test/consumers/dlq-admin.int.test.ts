import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../src/command/journal.js';
import { INVENTORY_VIEWS_GROUP } from '../../src/consumers/aggregators/inventory-views-aggregator.js';
import { dlqTopicOf } from '../../src/consumers/dead-letter.js';
import { INVENTORY_PROJECTOR_GROUP } from '../../src/consumers/projectors/inventory-projector.js';
import { liveGroupId } from '../../src/shared/group-names.js';
import { expectReadModelEqualsJournal, expectViewsEqualJournal } from '../helpers/oracle-checks.js';
import { consumerFixture, produceRecords, writeHistory } from '../helpers/pipeline.js';
import { spawnCli, writeConnector, type CliProcess } from '../helpers/process.js';
import { readCommittedToEnd } from '../helpers/read-to-end.js';
import { eventually, uniqueName } from '../helpers/stack.js';

/**
 * The DLQ commands as an operator runs them (`cli dlq list | inspect |
 * replay | purge`, each a process) against the consumer groups of a pipeline
 * process that dead-lettered valid events their database refused: triggers
 * planted in this test's database refuse one inventory's last movement (the
 * projector) and another's last view state (the views aggregator) — the kind
 * of fault an operator fixes before replaying. The group dead-letters only
 * that event and moves on; after the fix the replayed event is applied
 * exactly once (a second replay is a duplicate the sequence gate drops), the
 * replayed copy names the dead letter it came from, and purge empties the DLQ.
 */
describe('cli dlq: list, inspect, replay and purge dead-lettered events', () => {
  const prefix = `${uniqueName('dq')}.`;
  const groups = [
    { name: 'projector', groupId: liveGroupId(prefix, INVENTORY_PROJECTOR_GROUP), victim: 'inventory-DQ-00001', table: 'inventory_movements', refuse: 'new.sequence_nr = 6', state: 'inventories' },
    { name: 'views', groupId: liveGroupId(prefix, INVENTORY_VIEWS_GROUP), victim: 'inventory-DQ-00002', table: 'inventory_view_state', refuse: 'new.last_sequence_nr = 6', state: 'inventory_view_state' },
  ];
  let f: Awaited<ReturnType<typeof consumerFixture>>;
  let records: JournalRecord[];
  let env: Record<string, string>;
  let pipeline: CliProcess | undefined;

  const cli = async (...args: string[]) => {
    const p = spawnCli(args, env);
    const code = await p.exited;
    return { code, out: p.output() };
  };
  const lastApplied = async (table: string) =>
    (await f.db.pool.query<{ persistence_id: string; last_sequence_nr: number }>(`select persistence_id, last_sequence_nr::int from ${table} order by 1`)).rows.map(
      (r) => `${r.persistence_id}@${r.last_sequence_nr}`,
    );
  const caughtUp = async (groupId: string) => {
    const end = (await f.admin.fetchTopicOffsets(f.topic)).reduce((s, p) => s + Number(p.high), 0);
    await eventually(async () => {
      const { rows } = await f.db.pool.query<{ n: number }>('select coalesce(sum(next_offset), 0)::int as n from consumer_offsets where group_id = $1 and topic = $2', [groupId, f.topic]);
      return rows[0]!.n === end ? true : undefined;
    }, 120_000, 300).catch((err: unknown) => {
      throw new Error(`${groupId}: ${String(err)}\n${pipeline?.output().slice(-3000)}`);
    });
  };

  beforeAll(async () => {
    f = await consumerFixture('dlq-cli');
    records = await writeHistory(f.journal, 4, 6, 'DQ');
    env = { DATABASE_URL: f.db.url, CONNECTOR_FILE: writeConnector(f.table, f.topic), GROUP_PREFIX: prefix, LOG_LEVEL: 'error' };
    await f.db.pool.query(`create function test_refuse() returns trigger language plpgsql as $$
      begin raise exception 'test: refused %', new.persistence_id using errcode = 'check_violation'; end $$`);
    for (const g of groups) {
      await f.db.pool.query(`create trigger test_refuse before insert on ${g.table} for each row
        when (new.persistence_id = '${g.victim}' and ${g.refuse}) execute function test_refuse()`);
    }
  }, 300_000);
  afterAll(async () => {
    await pipeline?.kill9().catch(() => undefined);
    await f?.admin.deleteTopics({ topics: [f.topic, ...groups.map((g) => dlqTopicOf(f.topic, g.groupId))] }).catch(() => undefined);
    await f?.close();
  });

  it('lists and inspects each dead letter; replays it after the fix, applied once; purges the DLQ', async () => {
    pipeline = spawnCli(['run', '--roles', 'projector,views'], env);
    await produceRecords(f.producer, f.serde, f.topic, records);
    const letters = new Map<string, { partition: string; offset: string }>();
    for (const g of groups) {
      const dlq = dlqTopicOf(f.topic, g.groupId);
      // Only the refused event goes to the DLQ and the group moves on: every other event applied, the victim's first five too.
      await caughtUp(g.groupId);
      const list = await cli('dlq', 'list', '--group', g.groupId);
      expect(list.code, list.out).toBe(0);
      expect(await lastApplied(g.state), `${g.name}\n${list.out}`).toEqual(
        ['inventory-DQ-00000@6', 'inventory-DQ-00001@6', 'inventory-DQ-00002@6', 'inventory-DQ-00003@6'].map((x) => (x.startsWith(`${g.victim}@`) ? `${g.victim}@5` : x)),
      );
      const line = list.out.split('\n').find((l) => l.includes(`key=${g.victim}`));
      expect(line, list.out).toMatch(new RegExp(`^\\d+/\\d+ \\S+ src=${f.topic.replaceAll('.', '\\.')}/\\d+@\\d+ key=${g.victim} attempts=\\d+ .*test: refused ${g.victim}`));
      expect(list.out).toMatch(new RegExp(`1 dead letters in ${dlq.replaceAll('.', '\\.')}: \\S+=1`));
      const [, partition, offset] = /^(\d+)\/(\d+)/.exec(line!)!;
      letters.set(g.name, { partition: partition!, offset: offset! });

      const inspect = await cli('dlq', 'inspect', partition!, offset!, '--group', g.groupId);
      expect(inspect.code, inspect.out).toBe(0);
      const letter = JSON.parse(inspect.out.slice(inspect.out.indexOf('{'))) as { key: string; sourceTopic: string; headers: Record<string, string>; value: string };
      expect(letter).toMatchObject({ key: g.victim, sourceTopic: f.topic });
      const event = records.find((r) => r.persistenceId === g.victim && r.sequenceNr === 6)!;
      expect(letter.headers).toMatchObject({ persistence_id: g.victim, sequence_nr: '6', event_type: event.eventType });
      expect(letter.value).toMatch(/^00/); // the original Confluent-framed bytes, as hex
      const none = await cli('dlq', 'inspect', partition!, String(Number(offset) + 1), '--group', g.groupId);
      expect(none.code).not.toBe(0);
      expect(none.out).toContain(`no dead letter at ${partition}/${Number(offset) + 1}`);
    }

    // The fix, then the replay: each event applied, once; an operator's second replay changes nothing.
    await f.db.pool.query('drop function test_refuse() cascade');
    for (const g of groups) {
      const dlq = dlqTopicOf(f.topic, g.groupId);
      for (let round = 0; round < 2; round++) {
        const replay = await cli('dlq', 'replay', '--group', g.groupId);
        expect(replay.code, replay.out).toBe(0);
        expect(replay.out).toContain(`replayed 1 dead letters from ${dlq} to their source topics`);
        for (const h of groups) await caughtUp(h.groupId);
        expect(await lastApplied(g.state)).toContain(`${g.victim}@6`);
      }
    }
    await expectReadModelEqualsJournal(f.db.pool, records);
    await expectViewsEqualJournal(f.db.pool, records, 10_000);

    // Each replayed copy in the source topic names the dead letter it came from (two replays of each).
    const marks: string[] = [];
    await readCommittedToEnd({
      kafka: f.kafka, topic: f.topic, groupId: uniqueName('dlq-verify'), timeoutMs: 60_000, ready: () => true,
      onMessage: (_p, m) => {
        const from = m.headers?.dlq_replayed_from?.toString();
        if (from) marks.push(`${m.key?.toString()} ${m.headers?.sequence_nr?.toString()} ${from}`);
      },
    });
    const expected = groups.flatMap((g) => {
      const l = letters.get(g.name)!;
      const mark = `${g.victim} 6 ${dlqTopicOf(f.topic, g.groupId)}/${l.partition}/${l.offset}`;
      return [mark, mark];
    });
    expect(marks.sort()).toEqual(expected.sort());

    for (const g of groups) {
      const dlq = dlqTopicOf(f.topic, g.groupId);
      const purge = await cli('dlq', 'purge', '--group', g.groupId);
      expect(purge.code, purge.out).toBe(0);
      expect(purge.out).toContain(`purged 1 records from ${dlq}`);
      expect((await cli('dlq', 'list', '--group', g.groupId)).out).toContain(`0 dead letters in ${dlq}: none`);
    }
    expect(pipeline.exitedUnexpectedly(), pipeline.output().slice(-2000)).toBe(false);
    expect(await pipeline.terminate()).toBe(0);
  });
});
