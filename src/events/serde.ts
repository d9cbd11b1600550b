import type avro from 'avsc';

type Resolver = ReturnType<avro.Type['createResolver']>;
import { PipelineError, ValidationError } from '../shared/errors.js';
import { fingerprintOf, UnknownEventTypeError, type EventCatalog, type SchemaVersion } from './catalog.js';
import type { SchemaStore } from './schema-store.js';
import type { Upcaster } from './upcasters/index.js';

/**
 * Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary.
 * Subjects follow TopicRecordNameStrategy: `<topic>-<record full name>`.
 */
export const MAGIC_BYTE = 0;

export class CorruptPayloadError extends ValidationError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'CORRUPT_PAYLOAD', cause });
  }
}

export class SchemaMismatchError extends ValidationError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'SCHEMA_MISMATCH', cause });
  }
}

export interface DecodedEvent<E = { type: string; data: Record<string, unknown> }> {
  /** The event, upcast to the latest version its handlers know. */
  event: E;
  eventType: string;
  /** Version the bytes were written at (before upcasting). */
  writerVersion: number | undefined;
  schemaId: number;
}

export interface EventSerde<E = { type: string; data: Record<string, unknown> }> {
  readonly topic: string;
  subject(eventType: string): string;
  /** Encodes `data` (shape of `version`) in wire format; invalid data → ValidationError. */
  encode(eventType: string, version: number, data: object): Promise<Buffer>;
  /**
   * Wraps an Avro binary payload written at `version` (as the journal stores it)
   * in wire format without re-encoding it; a payload that does not decode with
   * that version's schema → CorruptPayloadError.
   */
  wrap(eventType: string, version: number, avroBinary: Buffer): Promise<Buffer>;
  /**
   * Decodes wire-format bytes with the writer schema from the registry, then
   * brings them to the latest version: Avro resolution for steps without an
   * upcaster, the upcaster for steps with one. Errors are typed
   * (CorruptPayloadError, UnknownSchemaIdError, UnknownEventTypeError,
   * SchemaMismatchError) so consumers can dead-letter them.
   */
  decode(bytes: Buffer): Promise<DecodedEvent<E>>;
  /** Same as decode, for raw Avro of a known type and version (journal payloads). */
  decodeRaw(eventType: string, version: number, avroBinary: Buffer): DecodedEvent<E>['event'];
}

export function subjectFor(topic: string, fullName: string): string {
  return `${topic}-${fullName}`;
}

export function createEventSerde<E = { type: string; data: Record<string, unknown> }>(options: {
  topic: string;
  catalog: EventCatalog;
  store: SchemaStore;
  upcasters: readonly Upcaster[];
}): EventSerde<E> {
  const { topic, catalog, store } = options;
  const upcasters = new Map(options.upcasters.map((u) => [`${u.eventType}@${u.from}`, u]));
  const resolvers = new Map<string, Resolver>();
  const writerById = new Map<number, Promise<{ writer: avro.Type; known: SchemaVersion | undefined; eventType: string }>>();

  const resolver = (reader: avro.Type, writer: avro.Type, key: string) => {
    let r = resolvers.get(key);
    if (!r) {
      r = reader.createResolver(writer);
      resolvers.set(key, r);
    }
    return r;
  };

  /** Walks a value decoded at `sv` up to the latest version of its type. */
  function toLatest(sv: SchemaVersion, value: Record<string, unknown>): Record<string, unknown> {
    const versions = catalog.versions(sv.eventType);
    let current = value;
    for (let v = sv.version; v < versions.length; v++) {
      const up = upcasters.get(`${sv.eventType}@${v}`);
      if (up) {
        current = up.up(current);
      } else {
        const from = versions[v - 1]!;
        const to = versions[v]!;
        const r = resolver(to.type, from.type, `${sv.eventType}@${v}`);
        current = to.type.fromBuffer(from.type.toBuffer(current), r) as Record<string, unknown>;
      }
    }
    return current;
  }

  function readStrict(type: avro.Type, buf: Buffer, res?: Resolver): Record<string, unknown> {
    try {
      // fromBuffer throws on truncated input and on trailing bytes.
      return type.fromBuffer(buf, res) as Record<string, unknown>;
    } catch (err) {
      throw new CorruptPayloadError(`payload does not decode as ${type.name ?? 'schema'}: ${(err as Error).message}`, err);
    }
  }

  async function writerOf(id: number) {
    let p = writerById.get(id);
    if (!p) {
      p = store.schemaById(id).then((writer) => {
        const known = catalog.byFingerprint(fingerprintOf(writer));
        const eventType = known?.eventType ?? (writer.name ? catalog.eventTypeOf(writer.name) : undefined);
        if (!eventType) throw new UnknownEventTypeError(writer.name ?? `schema id ${id}`);
        return { writer, known, eventType };
      });
      p.catch(() => writerById.delete(id));
      writerById.set(id, p);
    }
    return p;
  }

  const header = (id: number) => {
    const h = Buffer.alloc(5);
    h.writeUInt8(MAGIC_BYTE, 0);
    h.writeInt32BE(id, 1);
    return h;
  };

  return {
    topic,
    subject: (eventType) => subjectFor(topic, catalog.fullName(eventType)),
    async encode(eventType, version, data) {
      const sv = catalog.get(eventType, version);
      const errors: string[] = [];
      if (!sv.type.isValid(data, { errorHook: (path, value) => errors.push(`${path.join('.') || '(root)'}=${JSON.stringify(value)}`) })) {
        throw new ValidationError(`${eventType} v${version} does not match its schema: ${errors.join(', ')}`, {
          code: 'SCHEMA_VALIDATION',
        });
      }
      const id = await store.idOf(subjectFor(topic, sv.fullName), version);
      return Buffer.concat([header(id), sv.type.toBuffer(data)]);
    },
    async wrap(eventType, version, avroBinary) {
      const sv = catalog.get(eventType, version);
      readStrict(sv.type, avroBinary);
      const id = await store.idOf(subjectFor(topic, sv.fullName), version);
      return Buffer.concat([header(id), avroBinary]);
    },
    async decode(bytes) {
      if (bytes.length < 5 || bytes.readUInt8(0) !== MAGIC_BYTE) {
        throw new CorruptPayloadError(`not Confluent wire format (length ${bytes.length}, first byte ${bytes[0] ?? 'none'})`);
      }
      const schemaId = bytes.readInt32BE(1);
      const { writer, known, eventType } = await writerOf(schemaId);
      const payload = bytes.subarray(5);
      let data: Record<string, unknown>;
      if (known) {
        data = toLatest(known, readStrict(known.type, payload));
      } else {
        // A writer version this build does not know (newer, or registered by
        // someone else): let Avro resolve it to our latest if it can.
        const latest = catalog.latest(eventType);
        let r: Resolver;
        try {
          r = resolver(latest.type, writer, `id:${schemaId}`);
        } catch (err) {
          throw new SchemaMismatchError(`schema id ${schemaId} cannot be resolved to ${latest.fullName} v${latest.version}`, err);
        }
        data = readStrict(latest.type, payload, r);
      }
      return { event: { type: eventType, data } as E, eventType, writerVersion: known?.version, schemaId };
    },
    decodeRaw(eventType, version, avroBinary) {
      const sv = catalog.get(eventType, version);
      return { type: eventType, data: toLatest(sv, readStrict(sv.type, avroBinary)) } as E;
    },
  };
}

export function isDecodeError(err: unknown): boolean {
  return err instanceof ValidationError || (err instanceof PipelineError && !err.retriable);
}
