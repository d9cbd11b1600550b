import type avro from 'avsc';
import { ValidationError } from '../shared/errors.js';
import type { EventCatalog, SchemaVersion } from './catalog.js';
import { assertEvolution } from './evolution.js';
import type { Upcaster } from './upcasters/index.js';

type Resolver = ReturnType<avro.Type['createResolver']>;

export class CorruptPayloadError extends ValidationError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'CORRUPT_PAYLOAD', cause });
  }
}

/**
 * Brings a value written at some schema version to the latest version of its
 * type: Avro schema resolution for steps without an upcaster, the upcaster
 * for steps with one. Needs no registry: the journal's raw payloads (type and
 * version in attributes) decode with this alone.
 */
export interface VersionLadder {
  toLatest(sv: SchemaVersion, value: Record<string, unknown>): Record<string, unknown>;
  /** Strict binary decode (truncated or trailing bytes → CorruptPayloadError). */
  read(type: avro.Type, bytes: Buffer, resolver?: Resolver): Record<string, unknown>;
  resolver(reader: avro.Type, writer: avro.Type, key: string): Resolver;
  /** Raw Avro of a known type and version → `{ type, data }` at the latest version. */
  decodeRaw<E = { type: string; data: Record<string, unknown> }>(eventType: string, version: number, bytes: Buffer): E;
}

/**
 * Refuses (SchemaEvolutionError) a catalog with a version step whose meaning
 * resolution cannot carry and that has no upcaster (see evolution.ts).
 */
export function createVersionLadder(catalog: EventCatalog, upcasters: readonly Upcaster[]): VersionLadder {
  assertEvolution(catalog, upcasters);
  const byStep = new Map(upcasters.map((u) => [`${u.eventType}@${u.from}`, u]));
  const resolvers = new Map<string, Resolver>();
  const ladder: VersionLadder = {
    resolver(reader, writer, key) {
      let r = resolvers.get(key);
      if (!r) {
        r = reader.createResolver(writer);
        resolvers.set(key, r);
      }
      return r;
    },
    read(type, bytes, resolver) {
      try {
        return type.fromBuffer(bytes, resolver) as Record<string, unknown>;
      } catch (err) {
        throw new CorruptPayloadError(`payload does not decode as ${type.name ?? 'schema'}: ${(err as Error).message}`, err);
      }
    },
    toLatest(sv, value) {
      const versions = catalog.versions(sv.eventType);
      let current = value;
      for (let v = sv.version; v < versions.length; v++) {
        const up = byStep.get(`${sv.eventType}@${v}`);
        if (up) {
          current = up.up(current);
        } else {
          const from = versions[v - 1]!;
          const to = versions[v]!;
          current = to.type.fromBuffer(from.type.toBuffer(current), ladder.resolver(to.type, from.type, `${sv.eventType}@${v}`)) as Record<string, unknown>;
        }
      }
      return current;
    },
    decodeRaw<E>(eventType: string, version: number, bytes: Buffer) {
      const sv = catalog.get(eventType, version);
      return { type: eventType, data: ladder.toLatest(sv, ladder.read(sv.type, bytes)) } as E;
    },
  };
  return ladder;
}
