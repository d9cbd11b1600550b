import type { EventCatalog } from '../events/catalog.js';
import type { EventSerde } from '../events/serde.js';
import { errorCode, errorMessage, PipelineError, ValidationError } from '../shared/errors.js';
import {
  binaryAttr,
  derivedEventId,
  integerAttr,
  itemToJson,
  jsonAttr,
  optionalString,
  stringAttr,
  timestampAttr,
  UnmappableRecordError,
  type Item,
} from './attributes.js';
import type { ConnectorConfig } from './connector.js';

/** A Kafka message the bridge writes, independent of the client library. */
export interface OutMessage {
  topic: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

/** A removal the bridge relays: a null value is a tombstone. */
export type RemovalMessage = Omit<OutMessage, 'value'> & { value: Buffer | null };

/** Where a record came from: a stream shard position, or a backfill scan. */
export interface RecordOrigin {
  table: string;
  shardId: string;
  sequenceNumber: string;
  eventName: string;
  /** ApproximateCreationDateTime of the stream record (ms), if any. */
  approximateCreatedAt?: number;
  /** The stream record's key attributes (all a REMOVE of a NEW_IMAGE stream carries). */
  keys?: Item;
  /** Who made the change: DynamoDB's TTL deletes as `{ Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' }`. */
  userIdentity?: { Type?: string; PrincipalId?: string };
}

export type MapResult =
  | { kind: 'relay'; message: OutMessage; persistenceId: string; sequenceNr: number; writtenAt: number | undefined }
  /** A REMOVE relayed by policy (a removal record or a tombstone): not an event, never counted as one. */
  | { kind: 'removal'; message: RemovalMessage; origin: RemoveOrigin }
  | { kind: 'filtered'; reason: string }
  | { kind: 'dead-letter'; message: OutMessage; code: string; reason: string };

export type RemoveOrigin = 'ttl' | 'user';

/** DynamoDB's TTL process deletes as this service principal (every other REMOVE was a request by someone). */
export function removeOriginOf(identity: RecordOrigin['userIdentity']): RemoveOrigin {
  return identity?.Type === 'Service' && identity.PrincipalId === 'dynamodb.amazonaws.com' ? 'ttl' : 'user';
}

export interface RecordMapper {
  /** Maps one item image. Retriable failures (registry down) are thrown; unmappable input is dead-lettered. */
  map(image: Item | undefined, origin: RecordOrigin): Promise<MapResult>;
  /** The item's write time (mapping.writtenAt, epoch ms), undefined when it has none or it does not parse; never throws. */
  writtenAtOf(image: Item | undefined): number | undefined;
}

/** Errors that mean "this record can never be mapped", as opposed to "try again later". */
function isPermanent(err: unknown): boolean {
  return err instanceof ValidationError || (err instanceof PipelineError && !err.retriable && err.code !== 'REGISTRY');
}

/**
 * Stream record → Kafka message. Key = persistence id (UTF-8); value =
 * Confluent wire format at the LATEST schema version of the event's type (the
 * topic contract: a consumer reading with the latest schemas never meets an
 * older version, so Avro resolution cannot turn a v1 field it does not know
 * into a default). An Avro payload already at the latest version is passed
 * through after checking it decodes; an older one is upcast and re-encoded;
 * a JSON payload is validated against the Avro schema of its version, its
 * metadata filled from the mapped attributes, upcast and encoded. Headers
 * carry the envelope as strings; `schema_version` is the value's version,
 * `written_schema_version` the version the journal stored. Mapping is a pure
 * function of the item (but for `cdc_relayed_at`), so a re-relayed record
 * carries the same key and value. MODIFY / REMOVE follow the connector's
 * policy (a REMOVE's by who deleted the item: TTL or a user).
 */
export function createRecordMapper(options: {
  connector: ConnectorConfig;
  serde: EventSerde;
  catalog: EventCatalog;
  now?: () => number;
}): RecordMapper {
  const { connector, serde, catalog, now = Date.now } = options;
  const m = connector.mapping;
  const strip = m.persistenceId.stripPattern ? new RegExp(m.persistenceId.stripPattern) : undefined;

  function persistenceIdOf(item: Item): string {
    const id = m.persistenceId.attributes
      .map((a) => {
        const s = stringAttr(item, a);
        return strip ? s.replace(strip, '') : s;
      })
      .join(m.persistenceId.separator);
    if (id.length === 0) throw new UnmappableRecordError('EMPTY_PERSISTENCE_ID', 'persistence id is empty');
    return id;
  }

  async function relay(item: Item, origin: RecordOrigin): Promise<MapResult> {
    const persistenceId = persistenceIdOf(item);
    const sequenceNr = integerAttr(item, m.sequenceNr);
    const eventType = stringAttr(item, m.eventType);
    const writtenAt = timestampAttr(item, m.writtenAt);
    const correlationId = optionalString(item, m.correlationId);
    const causationId = optionalString(item, m.causationId);
    let version: number;
    let out: { value: Buffer; version: number };
    if (m.payloadCodec === 'avro') {
      version = integerAttr(item, m.schemaVersion!);
      out = await serde.wrapLatest(eventType, version, binaryAttr(item, m.payload));
    } else {
      version = m.schemaVersion ? integerAttr(item, m.schemaVersion) : catalog.latest(eventType).version;
      const data = jsonAttr(item, m.payload);
      const eventId = optionalString(item, m.eventId) ?? derivedEventId(persistenceId, sequenceNr);
      const metadata = {
        eventId,
        persistenceId,
        sequenceNr,
        occurredAt: timestampAttr(item, m.occurredAt) ?? writtenAt ?? origin.approximateCreatedAt ?? 0,
        correlationId: correlationId ?? eventId,
        causationId: causationId ?? null,
      };
      out = await serde.encodeLatest(eventType, version, { ...data, metadata });
    }
    const headers: Record<string, string> = {
      event_type: eventType,
      schema_version: String(out.version),
      written_schema_version: String(version),
      persistence_id: persistenceId,
      sequence_nr: String(sequenceNr),
      source_written_at: writtenAt === undefined ? '' : String(writtenAt),
      cdc_relayed_at: String(now()),
      correlation_id: correlationId ?? '',
      causation_id: causationId ?? '',
      shard_id: origin.shardId,
      stream_sequence_number: origin.sequenceNumber,
    };
    return {
      kind: 'relay',
      message: { topic: connector.topic, key: persistenceId, value: out.value, headers },
      persistenceId,
      sequenceNr,
      writtenAt,
    };
  }

  function deadLetter(image: Item | undefined, origin: RecordOrigin, code: string, reason: string): MapResult {
    let key = origin.sequenceNumber;
    try {
      if (image) key = persistenceIdOf(image);
    } catch {
      // keep the stream position as key: the id itself is what is broken
    }
    return {
      kind: 'dead-letter',
      code,
      reason,
      message: {
        topic: connector.dlqTopic,
        key,
        value: Buffer.from(itemToJson(image)),
        headers: {
          error_code: code,
          // Header values are bounded: a huge validation message must not make the record too large.
          error_message: reason.slice(0, 2000),
          table: origin.table,
          shard_id: origin.shardId,
          stream_sequence_number: origin.sequenceNumber,
          event_name: origin.eventName,
          dead_lettered_at: String(now()),
        },
      },
    };
  }

  /**
   * A REMOVE by its policy for the deleter (TTL or user). Relayed as a
   * removal record (JSON value naming the item's keys) or a tombstone (null
   * value), keyed by the persistence id the keys give; headers say what it is
   * (`cdc_operation`, `remove_origin`) so that event consumers skip it.
   */
  function removal(origin: RecordOrigin): MapResult {
    const from = removeOriginOf(origin.userIdentity);
    const policy = connector.modifyRemovePolicy.remove[from];
    if (policy === 'ignore') return { kind: 'filtered', reason: `REMOVE:${from}` };
    if (policy === 'dead-letter') {
      const d = deadLetter(origin.keys, origin, 'UNEXPECTED_REMOVE', `REMOVE records (${from}) are dead-lettered by policy`);
      if (d.kind === 'dead-letter') d.message.headers.remove_origin = from;
      return d;
    }
    const keys = origin.keys ?? {};
    let persistenceId: string;
    try {
      persistenceId = persistenceIdOf(keys);
    } catch (err) {
      return deadLetter(keys, origin, 'REMOVE_WITHOUT_ID', `a REMOVE whose keys do not hold the persistence id cannot be relayed: ${errorMessage(err)}`);
    }
    const seq = keys[m.sequenceNr]?.N ?? keys[m.sequenceNr]?.S ?? '';
    const headers: Record<string, string> = {
      cdc_operation: 'REMOVE',
      remove_origin: from,
      persistence_id: persistenceId,
      sequence_nr: seq,
      cdc_relayed_at: String(now()),
      shard_id: origin.shardId,
      stream_sequence_number: origin.sequenceNumber,
    };
    const value = policy === 'tombstone' ? null : Buffer.from(JSON.stringify({ operation: 'REMOVE', origin: from, keys: JSON.parse(itemToJson(keys)) as unknown }));
    if (value) headers.content_type = 'application/json';
    return { kind: 'removal', origin: from, message: { topic: connector.topic, key: persistenceId, value, headers } };
  }

  return {
    writtenAtOf(image) {
      if (!image || !m.writtenAt) return undefined;
      try {
        return timestampAttr(image, m.writtenAt);
      } catch {
        return undefined;
      }
    },
    async map(image, origin) {
      if (origin.eventName === 'REMOVE') return removal(origin);
      const policy = origin.eventName === 'INSERT' ? 'relay' : origin.eventName === 'MODIFY' ? connector.modifyRemovePolicy.modify : 'dead-letter';
      if (policy === 'ignore') return { kind: 'filtered', reason: origin.eventName };
      if (policy === 'dead-letter') {
        return deadLetter(image, origin, `UNEXPECTED_${origin.eventName || 'EVENT'}`, `${origin.eventName} records are dead-lettered by policy`);
      }
      if (!image) return deadLetter(image, origin, 'NO_NEW_IMAGE', 'stream record has no NewImage (is the view type NEW_IMAGE?)');
      try {
        return await relay(image, origin);
      } catch (err) {
        if (!isPermanent(err)) throw err;
        return deadLetter(image, origin, errorCode(err), errorMessage(err));
      }
    },
  };
}
