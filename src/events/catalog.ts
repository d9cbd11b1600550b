import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import { PipelineError } from '../shared/errors.js';
import { packagePath } from '../shared/package-root.js';

/**
 * Every event type and schema version the pipeline knows, loaded from
 * schemas/<aggregate>/<EventType>.v<N>.avsc. The record's full name is stable
 * across versions; the version is the registry's subject version.
 */
export interface SchemaVersion {
  eventType: string;
  fullName: string;
  version: number;
  /** The schema as written in the file (registered as such). */
  schema: avro.Schema;
  type: avro.Type;
  /** Parsing Canonical Form fingerprint: matches a registry schema to a version. */
  fingerprint: string;
}

export interface EventCatalog {
  readonly aggregate: string;
  eventTypes(): string[];
  versions(eventType: string): SchemaVersion[];
  get(eventType: string, version: number): SchemaVersion;
  latest(eventType: string): SchemaVersion;
  /** The version whose canonical form equals `type`'s, if any. */
  byFingerprint(fingerprint: string): SchemaVersion | undefined;
  /** eventType ↔ fully qualified Avro record name. */
  fullName(eventType: string): string;
  eventTypeOf(fullName: string): string | undefined;
}

export class UnknownEventTypeError extends PipelineError {
  constructor(eventType: string, version?: number) {
    super(
      'UNKNOWN_EVENT_TYPE',
      version === undefined ? `unknown event type ${eventType}` : `unknown schema version ${eventType} v${version}`,
    );
  }
}

export function fingerprintOf(type: avro.Type): string {
  return type.fingerprint('sha256').toString('hex');
}

const FILE = /^([A-Za-z][A-Za-z0-9]*)\.v(\d+)\.avsc$/;

/**
 * The catalog of the schema files in `dirs` (the first names the aggregate).
 * Production code loads an aggregate's catalog with the pipeline's own event
 * types through {@link loadTopicCatalog}.
 */
export function loadCatalog(dirs: string | readonly string[]): EventCatalog {
  const list = typeof dirs === 'string' ? [dirs] : dirs;
  const aggregate = path.basename(list[0]!);
  const byType = new Map<string, SchemaVersion[]>();
  const byFp = new Map<string, SchemaVersion>();
  for (const { dir, file } of list.flatMap((dir) => readdirSync(dir).sort().map((file) => ({ dir, file })))) {
    const m = FILE.exec(file);
    if (!m) continue;
    const eventType = m[1]!;
    const version = Number(m[2]);
    const schema = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as avro.Schema;
    const type = avro.Type.forSchema(schema);
    const fullName = type.name;
    if (!fullName || fullName.split('.').pop() !== eventType) {
      throw new PipelineError('SCHEMA_FILE', `${file}: record name ${fullName ?? '?'} does not match the file name`);
    }
    const sv: SchemaVersion = { eventType, fullName, version, schema, type, fingerprint: fingerprintOf(type) };
    const list = byType.get(eventType) ?? [];
    list.push(sv);
    byType.set(eventType, list);
    byFp.set(sv.fingerprint, sv);
  }
  for (const [eventType, list] of byType) {
    list.sort((a, b) => a.version - b.version);
    list.forEach((sv, i) => {
      if (sv.version !== i + 1) throw new PipelineError('SCHEMA_FILE', `${eventType}: versions must be 1..N without holes`);
    });
  }
  const fullNames = new Map([...byType].map(([t, l]) => [t, l[0]!.fullName]));
  const typesByFullName = new Map([...fullNames].map(([t, n]) => [n, t]));

  const versions = (eventType: string) => {
    const list = byType.get(eventType);
    if (!list) throw new UnknownEventTypeError(eventType);
    return list;
  };
  return {
    aggregate,
    eventTypes: () => [...byType.keys()].sort(),
    versions,
    get(eventType, version) {
      const sv = versions(eventType)[version - 1];
      if (!sv) throw new UnknownEventTypeError(eventType, version);
      return sv;
    },
    latest: (eventType) => versions(eventType).at(-1)!,
    byFingerprint: (fp) => byFp.get(fp),
    fullName(eventType) {
      const n = fullNames.get(eventType);
      if (!n) throw new UnknownEventTypeError(eventType);
      return n;
    },
    eventTypeOf: (fullName) => typesByFullName.get(fullName),
  };
}

/** The schemas/ folder of this package (the checkout, or the installed package when run from dist/). */
export function defaultSchemasDir(aggregate = 'inventory'): string {
  return packagePath('schemas', aggregate);
}

/**
 * What an aggregate's topic carries: the aggregate's event types plus the
 * pipeline's own (schemas/pipeline: the end-to-end canary heartbeat), which
 * the journal, the bridge, the registry and the consumers must all know, but
 * which are not part of the aggregate's typed event union (gen:types reads
 * the aggregate's folder only).
 */
export function loadTopicCatalog(aggregate = 'inventory'): EventCatalog {
  return loadCatalog([defaultSchemasDir(aggregate), defaultSchemasDir('pipeline')]);
}
