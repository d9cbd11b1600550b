import type avro from 'avsc';

type Resolver = ReturnType<avro.Type['createResolver']>;
import { PipelineError, ValidationError } from '../shared/errors.js';
import { fingerprintOf, UnknownEventTypeError, type EventCatalog, type SchemaVersion } from './catalog.js';
import type { SchemaStore } from './schema-store.js';
import type { Upcaster } from './upcasters/index.js';
import { CorruptPayloadError, createVersionLadder } from './upcast.js';

export { CorruptPayloadError } from './upcast.js';

/**
 * Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary.
 * Subjects follow TopicRecordNameStrategy: `<topic>-<record full name>`.
 */
export const MAGIC_BYTE = 0;

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
   * The topic contract: an Avro payload written at `version`, in wire format
   * at the LATEST version of its type. A payload already at the latest
   * version is passed through byte for byte; an older one is decoded,
   * upcast (upcasters, then resolution) and re-encoded with the latest
   * schema. Pure and deterministic: a re-relayed record gets the same bytes.
   * A corrupt payload → CorruptPayloadError; an upcast result the latest
   * schema refuses (e.g. an int overflow) → ValidationError UPCAST_INVALID.
   */
  wrapLatest(eventType: string, version: number, avroBinary: Buffer): Promise<{ value: Buffer; version: number }>;
  /** Like {@link encode} (validated against `version`), then brought to the latest version like {@link wrapLatest}. */
  encodeLatest(eventType: string, version: number, data: object): Promise<{ value: Buffer; version: number }>;
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
  const ladder = createVersionLadder(catalog, options.upcasters);
  const writerById = new Map<number, Promise<{ writer: avro.Type; known: SchemaVersion | undefined; eventType: string }>>();

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

  function validate(sv: SchemaVersion, data: object, code: string, what: string) {
    const errors: string[] = [];
    if (!sv.type.isValid(data, { errorHook: (path, value) => errors.push(`${path.join('.') || '(root)'}=${JSON.stringify(value)}`) })) {
      throw new ValidationError(`${what} does not match ${sv.eventType} v${sv.version}: ${errors.join(', ')}`, { code });
    }
  }

  const wire = async (sv: SchemaVersion, avroBinary: Buffer) =>
    Buffer.concat([header(await store.idOf(subjectFor(topic, sv.fullName), sv.version)), avroBinary]);

  /** A decoded value at `sv`, in wire format at the latest version. */
  async function latestWire(sv: SchemaVersion, value: Record<string, unknown>) {
    const latest = catalog.latest(sv.eventType);
    const up = ladder.toLatest(sv, value);
    validate(latest, up, 'UPCAST_INVALID', `${sv.eventType} v${sv.version} upcast`);
    return { value: await wire(latest, latest.type.toBuffer(up)), version: latest.version };
  }

  return {
    topic,
    subject: (eventType) => subjectFor(topic, catalog.fullName(eventType)),
    async encode(eventType, version, data) {
      const sv = catalog.get(eventType, version);
      validate(sv, data, 'SCHEMA_VALIDATION', 'the data');
      return wire(sv, sv.type.toBuffer(data));
    },
    async wrap(eventType, version, avroBinary) {
      const sv = catalog.get(eventType, version);
      ladder.read(sv.type, avroBinary);
      return wire(sv, avroBinary);
    },
    async wrapLatest(eventType, version, avroBinary) {
      const sv = catalog.get(eventType, version);
      const value = ladder.read(sv.type, avroBinary);
      if (sv === catalog.latest(eventType)) return { value: await wire(sv, avroBinary), version };
      return latestWire(sv, value);
    },
    async encodeLatest(eventType, version, data) {
      const sv = catalog.get(eventType, version);
      validate(sv, data, 'SCHEMA_VALIDATION', 'the data');
      if (sv === catalog.latest(eventType)) return { value: await wire(sv, sv.type.toBuffer(data)), version };
      return latestWire(sv, sv.type.fromBuffer(sv.type.toBuffer(data)) as Record<string, unknown>);
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
        data = ladder.toLatest(known, ladder.read(known.type, payload));
      } else {
        // A writer version this build does not know (newer, or registered by
        // someone else): let Avro resolve it to our latest if it can.
        const latest = catalog.latest(eventType);
        let r: Resolver;
        try {
          r = ladder.resolver(latest.type, writer, `id:${schemaId}`);
        } catch (err) {
          throw new SchemaMismatchError(`schema id ${schemaId} cannot be resolved to ${latest.fullName} v${latest.version}`, err);
        }
        data = ladder.read(latest.type, payload, r);
      }
      return { event: { type: eventType, data } as E, eventType, writerVersion: known?.version, schemaId };
    },
    decodeRaw: (eventType, version, avroBinary) => ladder.decodeRaw<E>(eventType, version, avroBinary),
  };
}

export function isDecodeError(err: unknown): boolean {
  return err instanceof ValidationError || (err instanceof PipelineError && !err.retriable);
}
