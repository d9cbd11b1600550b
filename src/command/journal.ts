import { randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  PutItemCommand,
  QueryCommand,
  ResourceNotFoundException,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  waitUntilTableExists,
  type AttributeValue,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import type { EventCatalog } from '../events/catalog.js';
import type { EventMetadata } from '../events/generated/inventory.js';
import { ConcurrencyError, PipelineError } from '../shared/errors.js';
import { JOURNAL_WRITE_TIME_INDEX, writeTimeBucket } from '../shared/write-time-index.js';

/**
 * The event journal in DynamoDB, Pekko-journal layout: partition key `pkey`
 * (persistence id), sort key `sequence_nr`, the event as Avro binary at the
 * version it was written (`payload` + `event_type` + `schema_version`), and
 * `written_at`, `event_id`, `correlation_id`, `causation_id`, and
 * `written_bucket` (hour and slice of the persistence id), the partition key
 * of the write-time index `written_at-index` that lets the CDC bridge repair
 * a stream gap by reading only the missed window
 * (src/shared/write-time-index.ts; cost in docs/operating/gap-repair.md).
 *
 * Appends are optimistic: every item is put on condition that its key does
 * not exist yet, so two writers deciding from the same state cannot both
 * append sequence_nr N+1 — the loser gets a ConcurrencyError and nothing of
 * its batch is written (several events go in one TransactWriteItems).
 */
/**
 * Whether a connector's mapping reads this layout (attribute names and Avro
 * payloads): only such a table can take the journal's appends (the canary's
 * heartbeats), whatever other layouts a bridge relays.
 */
export function isJournalLayout(m: {
  persistenceId: { attributes: string[]; stripPattern?: string | undefined };
  sequenceNr: string;
  eventType: string;
  schemaVersion?: string | undefined;
  payload: string;
  payloadCodec: string;
}): boolean {
  return (
    m.persistenceId.attributes.length === 1 &&
    m.persistenceId.attributes[0] === 'pkey' &&
    m.persistenceId.stripPattern === undefined &&
    m.sequenceNr === 'sequence_nr' &&
    m.eventType === 'event_type' &&
    m.schemaVersion === 'schema_version' &&
    m.payload === 'payload' &&
    m.payloadCodec === 'avro'
  );
}

export interface JournalEvent {
  type: string;
  /** Schema version to write at; defaults to the latest. */
  version?: number;
  /** Payload without `metadata` (the journal fills it in). */
  data: Record<string, unknown>;
}

export interface AppendRequest {
  persistenceId: string;
  /** The sequence number the caller's decision was based on (0 for a new aggregate). */
  expectedSequenceNr: number;
  events: JournalEvent[];
  correlationId?: string;
  causationId?: string | null;
  /** Event time; defaults to now. */
  occurredAt?: number;
}

export interface JournalRecord {
  persistenceId: string;
  sequenceNr: number;
  eventType: string;
  schemaVersion: number;
  payload: Buffer;
  writtenAt: number;
  eventId: string;
  correlationId: string;
  causationId: string | null;
}

export interface Journal {
  readonly table: string;
  /**
   * Creates the table with a NEW_IMAGE stream and the write-time index if it
   * does not exist; returns the stream ARN. An existing table is left as it is
   * (adding the index to one is an operator's decision: docs/operating/gap-repair.md).
   */
  ensureTable(): Promise<string>;
  /** Appends to one aggregate. Throws ConcurrencyError if the position was taken. */
  append(request: AppendRequest): Promise<JournalRecord[]>;
  /** Appends to several aggregates atomically (e.g. both sides of a zone transfer); ≤ 100 events. */
  appendAll(requests: AppendRequest[]): Promise<JournalRecord[]>;
  /** Events of one aggregate in sequence order, strongly consistent, paginated. */
  load(persistenceId: string, range?: { from?: number; to?: number }): Promise<JournalRecord[]>;
  /** Highest sequence number of an aggregate (0 if none). */
  highestSequenceNr(persistenceId: string): Promise<number>;
}

/** The items of one persistence id with sequence numbers in [from, to], in order: a strongly consistent Query, every page. */
/**
 * The journal table's definition: key (pkey, sequence_nr), on demand;
 * `stream`: a NEW_IMAGE stream (what the bridge reads); `writeTimeIndex`: the
 * write-time index a gap repair reads the missed window from (projection ALL:
 * a repair relays straight from the index, no read of the table per event; the
 * copy costs storage, not extra write units). Tests and benches build their
 * tables from it too (a table adopting CDC late: no stream, enabled later).
 */
export function journalTableInput(table: string, o: { stream: boolean; writeTimeIndex: boolean }): CreateTableCommandInput {
  return {
    TableName: table,
    AttributeDefinitions: [
      { AttributeName: 'pkey', AttributeType: 'S' },
      { AttributeName: 'sequence_nr', AttributeType: 'N' },
      ...(o.writeTimeIndex
        ? [
            { AttributeName: JOURNAL_WRITE_TIME_INDEX.bucketAttribute, AttributeType: 'S' as const },
            { AttributeName: 'written_at', AttributeType: 'N' as const },
          ]
        : []),
    ],
    KeySchema: [
      { AttributeName: 'pkey', KeyType: 'HASH' },
      { AttributeName: 'sequence_nr', KeyType: 'RANGE' },
    ],
    ...(o.writeTimeIndex
      ? {
          GlobalSecondaryIndexes: [
            {
              IndexName: JOURNAL_WRITE_TIME_INDEX.name,
              KeySchema: [
                { AttributeName: JOURNAL_WRITE_TIME_INDEX.bucketAttribute, KeyType: 'HASH' as const },
                { AttributeName: 'written_at', KeyType: 'RANGE' as const },
              ],
              Projection: { ProjectionType: 'ALL' as const },
            },
          ],
        }
      : {}),
    BillingMode: 'PAY_PER_REQUEST',
    ...(o.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' as const } } : {}),
  };
}

export async function queryRange(
  ddb: DynamoDBClient,
  keys: { table: string; idAttribute: string; sequenceAttribute: string },
  persistenceId: string,
  from: number,
  to: number,
): Promise<Record<string, AttributeValue>[]> {
  const out: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await ddb.send(
      new QueryCommand({
        TableName: keys.table,
        KeyConditionExpression: '#p = :p AND #s BETWEEN :a AND :b',
        ExpressionAttributeNames: { '#p': keys.idAttribute, '#s': keys.sequenceAttribute },
        ExpressionAttributeValues: { ':p': { S: persistenceId }, ':a': { N: String(from) }, ':b': { N: String(to) } },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    out.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}

export function createJournal(options: { ddb: DynamoDBClient; table: string; catalog: EventCatalog }): Journal {
  const { ddb, table, catalog } = options;

  function toItems(req: AppendRequest): { records: JournalRecord[]; items: Record<string, AttributeValue>[] } {
    const correlationId = req.correlationId ?? randomUUID();
    const causationId = req.causationId ?? null;
    const occurredAt = req.occurredAt ?? Date.now();
    const writtenAt = Date.now();
    const records: JournalRecord[] = [];
    const items = req.events.map((e, i) => {
      const sequenceNr = req.expectedSequenceNr + 1 + i;
      const sv = e.version ? catalog.get(e.type, e.version) : catalog.latest(e.type);
      const eventId = randomUUID();
      const metadata: EventMetadata = {
        eventId,
        persistenceId: req.persistenceId,
        sequenceNr,
        occurredAt,
        correlationId,
        causationId,
      };
      const full = { metadata, ...e.data };
      const errors: string[] = [];
      if (!sv.type.isValid(full, { errorHook: (p) => errors.push(p.join('.')) })) {
        throw new PipelineError('SCHEMA_VALIDATION', `${e.type} v${sv.version} invalid at ${errors.join(', ')}`);
      }
      const record: JournalRecord = {
        persistenceId: req.persistenceId,
        sequenceNr,
        eventType: e.type,
        schemaVersion: sv.version,
        payload: sv.type.toBuffer(full),
        writtenAt,
        eventId,
        correlationId,
        causationId,
      };
      records.push(record);
      return itemOf(record);
    });
    return { records, items };
  }

  async function appendAll(requests: AppendRequest[]): Promise<JournalRecord[]> {
    const built = requests.map(toItems);
    const items = built.flatMap((b) => b.items);
    if (items.length === 0) return [];
    if (items.length > 100) throw new PipelineError('APPEND_TOO_LARGE', `at most 100 events per append, got ${items.length}`);
    try {
      if (items.length === 1) {
        await ddb.send(
          new PutItemCommand({
            TableName: table,
            Item: items[0],
            ConditionExpression: 'attribute_not_exists(pkey)',
          }),
        );
      } else {
        const tx: TransactWriteItem[] = items.map((Item) => ({
          Put: { TableName: table, Item, ConditionExpression: 'attribute_not_exists(pkey)' },
        }));
        await ddb.send(new TransactWriteItemsCommand({ TransactItems: tx }));
      }
    } catch (err) {
      const first = requests[0]!;
      if (err instanceof ConditionalCheckFailedException) {
        throw new ConcurrencyError(first.persistenceId, first.expectedSequenceNr + 1, { cause: err });
      }
      if (err instanceof TransactionCanceledException) {
        const reasons = err.CancellationReasons ?? [];
        const idx = reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
        if (idx >= 0) {
          const item = items[idx]!;
          throw new ConcurrencyError(item.pkey!.S!, Number(item.sequence_nr!.N), { cause: err });
        }
        // TransactionConflict: another transaction touched the same items; retriable.
        throw new PipelineError('APPEND_CONFLICT', `journal transaction cancelled: ${reasons.map((r) => r.Code).join(',')}`, {
          retriable: true,
          cause: err,
        });
      }
      throw err;
    }
    return built.flatMap((b) => b.records);
  }

  async function load(persistenceId: string, range: { from?: number; to?: number } = {}): Promise<JournalRecord[]> {
    const from = range.from ?? 1;
    const to = range.to ?? Number.MAX_SAFE_INTEGER;
    const items = await queryRange(ddb, { table, idAttribute: 'pkey', sequenceAttribute: 'sequence_nr' }, persistenceId, from, to);
    return items.map(recordOf);
  }

  return {
    table,
    async ensureTable() {
      try {
        const d = await ddb.send(new DescribeTableCommand({ TableName: table }));
        const arn = d.Table?.LatestStreamArn;
        if (!arn || d.Table?.StreamSpecification?.StreamViewType === 'KEYS_ONLY') {
          throw new PipelineError('JOURNAL_NO_STREAM', `table ${table} exists without a NEW_IMAGE stream`);
        }
        return arn;
      } catch (err) {
        if (!(err instanceof ResourceNotFoundException)) throw err;
      }
      const created = await ddb.send(
        new CreateTableCommand(journalTableInput(table, { stream: true, writeTimeIndex: true })),
      );
      await waitUntilTableExists({ client: ddb, maxWaitTime: 60 }, { TableName: table });
      return created.TableDescription!.LatestStreamArn!;
    },
    append: (request) => appendAll([request]),
    appendAll,
    load,
    async highestSequenceNr(persistenceId) {
      const page = await ddb.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pkey = :p',
          ExpressionAttributeValues: { ':p': { S: persistenceId } },
          ScanIndexForward: false,
          Limit: 1,
          ConsistentRead: true,
          ProjectionExpression: 'sequence_nr',
        }),
      );
      const n = page.Items?.[0]?.sequence_nr?.N;
      return n ? Number(n) : 0;
    },
  };
}

/** The journal item of a record, in the reference layout (what the table's stream carries); the inverse of {@link recordOf}. */
export function itemOf(r: JournalRecord): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    pkey: { S: r.persistenceId },
    sequence_nr: { N: String(r.sequenceNr) },
    event_type: { S: r.eventType },
    schema_version: { N: String(r.schemaVersion) },
    payload: { B: r.payload },
    written_at: { N: String(r.writtenAt) },
    [JOURNAL_WRITE_TIME_INDEX.bucketAttribute]: { S: writeTimeBucket(JOURNAL_WRITE_TIME_INDEX, r.persistenceId, r.writtenAt) },
    event_id: { S: r.eventId },
    correlation_id: { S: r.correlationId },
  };
  if (r.causationId) item.causation_id = { S: r.causationId };
  return item;
}

/** Reads one journal item of the reference layout. */
export function recordOf(item: Record<string, AttributeValue>): JournalRecord {
  return {
    persistenceId: item.pkey!.S!,
    sequenceNr: Number(item.sequence_nr!.N),
    eventType: item.event_type!.S!,
    schemaVersion: Number(item.schema_version!.N),
    payload: Buffer.from(item.payload!.B!),
    writtenAt: Number(item.written_at!.N),
    eventId: item.event_id?.S ?? '',
    correlationId: item.correlation_id?.S ?? '',
    causationId: item.causation_id?.S ?? null,
  };
}
