import { DescribeTableCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { queryRange, type JournalRecord } from '../command/journal.js';
import type { EventCatalog } from '../events/catalog.js';
import type { EventSerde } from '../events/serde.js';
import type { Item } from '../source/attributes.js';
import type { ConnectorConfig } from '../source/connector.js';
import { createRecordMapper } from '../source/mapping.js';
import { PipelineError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

/**
 * What a consumer reads of the source of truth: an aggregate's events in a
 * sequence range (gap repair, integrity repair) and every aggregate's highest
 * sequence number (integrity check, rebuild of a truncated topic). The
 * journal's own `Journal` is one; {@link createSourceJournal} makes one for
 * any connector's table; {@link combineSourceJournals} reads several.
 */
export interface SourceJournal {
  /** Tables read, for messages. */
  readonly tables: readonly string[];
  load(persistenceId: string, range: { from: number; to: number }): Promise<JournalRecord[]>;
  highWaterMarks(): Promise<Map<string, number>>;
}

/** What gap repair needs of a journal (the command side's `Journal` is one too). */
export type JournalReader = Pick<SourceJournal, 'load'>;

/**
 * A connector's table read as a journal: items of one persistence id in
 * sequence order (a strongly consistent Query on the table's key), each
 * mapped by the bridge's own record mapper — so an event repaired from the
 * table is byte for byte what the bridge relayed (the topic contract's latest
 * version, JSON layouts encoded as Avro), whatever the table's layout.
 *
 * Needs the table keyed by the mapped persistence id (one attribute, no strip
 * pattern) and sequence number. A table keyed otherwise cannot be queried by
 * id: `load` finds nothing there (said once, at warn level; its ids' gaps
 * wait in parking, where operators see them) and `highWaterMarks` refuses
 * with a clear error rather than report an empty journal.
 */
export function createSourceJournal(o: {
  ddb: DynamoDBClient;
  connector: ConnectorConfig;
  serde: EventSerde;
  catalog: EventCatalog;
  logger: Logger;
}): SourceJournal {
  const { ddb, connector } = o;
  const table = connector.table;
  const m = connector.mapping;
  const mapper = createRecordMapper({ connector, serde: o.serde, catalog: o.catalog });
  const names = { '#p': m.persistenceId.attributes[0]!, '#s': m.sequenceNr };
  let keyed: Promise<void> | undefined;
  let warned = false;

  /** The table must be keyed (persistence id, sequence number) for a Query by id to see every event of an id. */
  function checkKeys(): Promise<void> {
    keyed ??= (async () => {
      if (m.persistenceId.attributes.length !== 1 || m.persistenceId.stripPattern !== undefined) {
        throw new PipelineError('JOURNAL_NOT_QUERYABLE', `connector ${connector.name}: its persistence id is built from several attributes or stripped, so table ${table} cannot be read by id`);
      }
      const d = await ddb.send(new DescribeTableCommand({ TableName: table }));
      const keys = d.Table?.KeySchema ?? [];
      const hash = keys.find((k) => k.KeyType === 'HASH')?.AttributeName;
      const range = keys.find((k) => k.KeyType === 'RANGE')?.AttributeName;
      if (hash !== names['#p'] || range !== names['#s']) {
        throw new PipelineError(
          'JOURNAL_NOT_QUERYABLE',
          `connector ${connector.name}: table ${table} is keyed (${hash ?? '-'}, ${range ?? '-'}), not (${names['#p']}, ${names['#s']}): it cannot be read by persistence id`,
        );
      }
    })();
    // A failed look-up (table briefly unreachable) is asked again next time; a wrong key schema stays refused.
    keyed.catch((err: unknown) => {
      if (!(err instanceof PipelineError && err.code === 'JOURNAL_NOT_QUERYABLE')) keyed = undefined;
    });
    return keyed;
  }

  async function recordOf(item: Record<string, AttributeValue>): Promise<JournalRecord | undefined> {
    const r = await mapper.map(item as Item, { table, shardId: 'journal-read', sequenceNumber: '', eventName: 'INSERT' });
    if (r.kind !== 'relay') {
      // The bridge dead-lettered (or filtered) this item when it streamed by; the gap it leaves is the DLQ's to explain.
      o.logger.warn({ table, reason: r.kind === 'dead-letter' ? r.code : r.kind === 'filtered' ? r.reason : 'REMOVE' }, 'journal item the bridge cannot relay, left out of a repair');
      return undefined;
    }
    const h = r.message.headers;
    return {
      persistenceId: r.persistenceId,
      sequenceNr: r.sequenceNr,
      eventType: h.event_type!,
      schemaVersion: Number(h.schema_version),
      // Confluent wire format: magic byte and schema id, then the Avro binary at schema_version.
      payload: r.message.value.subarray(5),
      writtenAt: r.writtenAt ?? 0,
      eventId: '',
      correlationId: h.correlation_id ?? '',
      causationId: h.causation_id || null,
    };
  }

  return {
    tables: [table],
    async load(persistenceId, range) {
      try {
        await checkKeys();
      } catch (err) {
        if (!(err instanceof PipelineError && err.code === 'JOURNAL_NOT_QUERYABLE')) throw err;
        if (!warned) o.logger.warn({ table, err: err.message }, 'gap repair cannot read this table; gaps of its ids wait in parking');
        warned = true;
        return [];
      }
      const items = await queryRange(ddb, { table, idAttribute: names['#p'], sequenceAttribute: names['#s'] }, persistenceId, range.from, range.to);
      const out: JournalRecord[] = [];
      for (const item of items) {
        const r = await recordOf(item);
        if (r) out.push(r);
      }
      return out;
    },
    async highWaterMarks() {
      await checkKeys();
      return scanHighWaterMarks(ddb, table, names['#p'], names['#s']);
    },
  };
}

/**
 * Several tables read as one journal. A persistence id lives in exactly one
 * table (it names one aggregate; two tables holding the same id would
 * interleave two histories in one sequence): `load` asks each table in turn
 * and returns the first that has the range, `highWaterMarks` merges them.
 */
export function combineSourceJournals(journals: readonly SourceJournal[]): SourceJournal {
  if (journals.length === 1) return journals[0]!;
  return {
    tables: journals.flatMap((j) => j.tables),
    async load(persistenceId, range) {
      for (const j of journals) {
        const records = await j.load(persistenceId, range);
        if (records.length > 0) return records;
      }
      return [];
    },
    async highWaterMarks() {
      const merged = new Map<string, number>();
      for (const marks of await Promise.all(journals.map((j) => j.highWaterMarks()))) {
        for (const [pid, seq] of marks) if (seq > (merged.get(pid) ?? 0)) merged.set(pid, seq);
      }
      return merged;
    },
  };
}

/** Every persistence id of a table with its highest sequence number: a parallel, strongly consistent scan of the two key attributes. */
export async function scanHighWaterMarks(ddb: DynamoDBClient, table: string, idAttribute: string, sequenceAttribute: string, segments = 4): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await ddb.send(
          new ScanCommand({
            TableName: table,
            Segment: segment,
            TotalSegments: segments,
            ProjectionExpression: '#p, #s',
            ExpressionAttributeNames: { '#p': idAttribute, '#s': sequenceAttribute },
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        );
        for (const item of page.Items ?? []) {
          const pid = item[idAttribute]?.S;
          const seq = Number(item[sequenceAttribute]?.N);
          if (pid && Number.isFinite(seq) && seq > (result.get(pid) ?? 0)) result.set(pid, seq);
        }
        start = page.LastEvaluatedKey;
      } while (start);
    }),
  );
  return result;
}
