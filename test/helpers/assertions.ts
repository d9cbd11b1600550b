import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import type { Kafka } from 'kafkajs';
import type { JournalRecord } from '../../src/command/journal.js';
import { journalHighWaterMarks } from '../../src/consumers/integrity.js';
import { withInternalGroup } from '../../src/log/internal-groups.js';
import type { Pool } from '../../src/db/db.js';
import { CANARY_PERSISTENCE_ID } from '../../src/shared/canary.js';
import { journalFor } from './pipeline.js';
import { readCommittedToEnd } from './read-to-end.js';
import { dynamo, dynamoStreams, eventually, kafka, testLogger } from './stack.js';

export { expectReadModelEqualsJournal, expectViewsEqualJournal } from './oracle-checks.js';

/** Every journal record of a table, read back strongly consistent. */
export async function readJournal(table: string): Promise<{ records: JournalRecord[]; marks: Map<string, number> }> {
  // The end-to-end canary's heartbeats are the pipeline's own, not business events.
  const marks = await journalHighWaterMarks(dynamo(), table);
  marks.delete(CANARY_PERSISTENCE_ID);
  const journal = await journalFor(table);
  const records = (await Promise.all([...marks.keys()].map((pid) => journal.load(pid)))).flat();
  return { records, marks };
}

/** Waits until the projector has applied every inventory's last journal sequence number. */
export async function waitForProjector(pool: Pool, marks: Map<string, number>, timeoutMs = 180_000) {
  await eventually(async () => {
    const { rows } = await pool.query<{ persistence_id: string; last_sequence_nr: number }>('select persistence_id, last_sequence_nr from inventories');
    const done = rows.filter((r) => marks.get(r.persistence_id) === r.last_sequence_nr).length;
    return done === marks.size ? true : undefined;
  }, timeoutMs, 1000);
}

/**
 * Reads the committed topic until every one of `expected` journal events is
 * there, then to the end offsets taken at that moment; counts each
 * (persistence id, sequence nr).
 * Through an internal group deleted afterwards, like the pipeline's own readers.
 */
export async function topicCounts(topic: string, expected: number, timeoutMs = 120_000): Promise<Map<string, number>> {
  const k = kafka('verify');
  const admin = k.admin();
  await admin.connect();
  try {
    return await withInternalGroup({ admin, purpose: 'verify', logger: testLogger, use: (groupId) => countJournalEvents(k, groupId, topic, expected, timeoutMs) });
  } finally {
    await admin.disconnect();
  }
}

async function countJournalEvents(k: Kafka, groupId: string, topic: string, expected: number, timeoutMs: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  // Once every expected event is there, on to the end offsets taken then: a duplicate written before is counted too.
  await readCommittedToEnd({
    kafka: k,
    topic,
    groupId,
    timeoutMs,
    ready: () => seen.size >= expected,
    progress: () => `(saw ${seen.size} of ${expected} journal events)`,
    onMessage: (_partition, message) => {
      // Records without the bridge's headers (poison injected by fault tests) are not journal events.
      if (!message.headers?.persistence_id || message.headers.persistence_id.toString() === CANARY_PERSISTENCE_ID) return;
      const key = `${message.headers.persistence_id.toString()}#${message.headers.sequence_nr?.toString()}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    },
  });
  return seen;
}

/** Each aggregate view = the GROUP BY of the read model (waits for the views group to catch up). */
export async function expectViewsEqualReadModel(pool: Pool, timeoutMs = 120_000) {
  const diffStock = `
    select count(*)::int as n from (
      (select warehouse_id, zone_id, sum(on_hand)::bigint, sum(reserved)::bigint, count(*)::int from inventories group by 1, 2
       except select warehouse_id, zone_id, on_hand, reserved, inventory_count from stock_by_warehouse_zone where inventory_count > 0)
      union all
      (select warehouse_id, zone_id, on_hand, reserved, inventory_count from stock_by_warehouse_zone where inventory_count > 0
       except select warehouse_id, zone_id, sum(on_hand)::bigint, sum(reserved)::bigint, count(*)::int from inventories group by 1, 2)
    ) d`;
  const diffDaily = `
    select count(*)::int as n from (
      (select (event_time at time zone 'UTC')::date, warehouse_id, zone_id, movement_type, count(*)::bigint from inventory_movements group by 1, 2, 3, 4
       except select day, warehouse_id, zone_id, movement_type, event_count from daily_movements)
      union all
      (select day, warehouse_id, zone_id, movement_type, event_count from daily_movements where event_count > 0
       except select (event_time at time zone 'UTC')::date, warehouse_id, zone_id, movement_type, count(*)::bigint from inventory_movements group by 1, 2, 3, 4)
    ) d`;
  await eventually(async () => {
    const a = await pool.query<{ n: number }>(diffStock);
    const b = await pool.query<{ n: number }>(diffDaily);
    return a.rows[0]!.n === 0 && b.rows[0]!.n === 0 ? true : undefined;
  }, timeoutMs, 1000);
}

/**
 * Says where the journal events missing from a topic are, for a failed
 * exactly-once check: each missing (persistence id, sequence nr) with whether
 * the topic holds it uncommitted (an open or aborted transaction), and its
 * record in the table's DynamoDB stream (sequence number, event name) or that
 * the stream never had it. Records in the stream but in neither read of the
 * topic never reached the bridge's producer.
 */
export async function explainTopicShortfall(topic: string, table: string, records: JournalRecord[]): Promise<string> {
  const read = async (readUncommitted: boolean) => {
    const keys = new Set<string>();
    const consumer = kafka('shortfall').consumer({ groupId: `shortfall-${Date.now()}-${readUncommitted}`, readUncommitted });
    let last = Date.now();
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          last = Date.now();
          const pid = message.headers?.persistence_id?.toString();
          if (pid) keys.add(`${pid}#${message.headers?.sequence_nr?.toString()}`);
        },
      });
      while (Date.now() - last < 3000) await new Promise((r) => setTimeout(r, 250));
    } finally {
      await consumer.disconnect();
    }
    return keys;
  };
  const committed = await read(false);
  const missing = records.map((r) => `${r.persistenceId}#${r.sequenceNr}`).filter((k) => !committed.has(k));
  if (missing.length === 0) return 'no journal event is missing from the topic now (they arrived late)';
  const uncommitted = await read(true);
  const inStream = new Map<string, string>();
  const streams = dynamoStreams();
  const arn = (await dynamo().send(new DescribeTableCommand({ TableName: table }))).Table?.LatestStreamArn;
  if (arn) {
    const wanted = new Set(missing);
    for (const shard of (await streams.send(new DescribeStreamCommand({ StreamArn: arn }))).StreamDescription?.Shards ?? []) {
      let iterator = (await streams.send(new GetShardIteratorCommand({ StreamArn: arn, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
      while (iterator) {
        const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
        for (const r of page.Records ?? []) {
          const key = `${r.dynamodb?.NewImage?.pkey?.S}#${r.dynamodb?.NewImage?.sequence_nr?.N}`;
          if (wanted.has(key)) inStream.set(key, `${r.eventName} ${r.dynamodb?.SequenceNumber} on ${shard.ShardId}`);
        }
        if ((page.Records ?? []).length === 0) break;
        iterator = page.NextShardIterator;
      }
    }
  }
  return `${missing.length} journal events not in the committed topic:\n${missing
    .slice(0, 50)
    .map((k) => `  ${k}: ${uncommitted.has(k) ? 'in the topic uncommitted' : 'not in the topic at all'}; stream: ${inStream.get(k) ?? 'no record'}`)
    .join('\n')}`;
}
