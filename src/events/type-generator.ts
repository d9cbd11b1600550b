import type { EventCatalog } from './catalog.js';

/**
 * Generates the TypeScript types of every event version from the Avro
 * schemas, so that the types the code compiles against cannot drift from the
 * schemas the registry holds (a unit test regenerates and compares).
 * Covers the Avro subset the schemas use: records, enums, primitives,
 * ["null", T] unions, arrays and maps.
 */
type Json = null | string | number | boolean | Json[] | { [k: string]: Json };

export function generateEventTypes(catalog: EventCatalog): string {
  const named = new Map<string, string>(); // short name → declaration
  const out: string[] = [
    '// Generated from schemas/ by `npm run gen:types`. Do not edit by hand.',
    '',
  ];

  const tsOf = (t: Json, versionSuffix: string): string => {
    if (typeof t === 'string') {
      switch (t) {
        case 'null':
          return 'null';
        case 'boolean':
          return 'boolean';
        case 'int':
        case 'long':
        case 'float':
        case 'double':
          return 'number';
        case 'string':
          return 'string';
        case 'bytes':
          return 'Buffer';
        default:
          return t.split('.').pop()!;
      }
    }
    if (Array.isArray(t)) return t.map((x) => tsOf(x, versionSuffix)).join(' | ');
    if (t && typeof t === 'object') {
      const kind = t.type;
      if (kind === 'record') return declareRecord(t, '');
      if (kind === 'enum') {
        const name = String(t.name);
        const symbols = (t.symbols as string[]).map((s) => `'${s}'`).join(' | ');
        named.set(name, `export type ${name} = ${symbols};`);
        return name;
      }
      if (kind === 'array') return `Array<${tsOf(t.items as Json, versionSuffix)}>`;
      if (kind === 'map') return `Record<string, ${tsOf(t.values as Json, versionSuffix)}>`;
      return tsOf(kind as Json, versionSuffix);
    }
    throw new Error(`unsupported Avro type ${JSON.stringify(t)}`);
  };

  const declareRecord = (r: { [k: string]: Json }, suffix: string): string => {
    const name = `${String(r.name).split('.').pop()}${suffix}`;
    const fields = (r.fields as { name: string; type: Json; doc?: string }[]).map((f) => {
      const doc = f.doc ? `  /** ${f.doc} */\n` : '';
      return `${doc}  ${f.name}: ${tsOf(f.type, suffix)};`;
    });
    const doc = r.doc ? `/** ${String(r.doc)} */\n` : '';
    named.set(name, `${doc}export interface ${name} {\n${fields.join('\n')}\n}`);
    return name;
  };

  const union: string[] = [];
  const latest: string[] = [];
  for (const eventType of catalog.eventTypes()) {
    for (const sv of catalog.versions(eventType)) {
      declareRecord(sv.schema as unknown as { [k: string]: Json }, `V${sv.version}`);
    }
    const last = catalog.latest(eventType).version;
    latest.push(`  ${eventType}: ${last},`);
    union.push(`  | { type: '${eventType}'; data: ${eventType}V${last} }`);
    named.set(`${eventType}`, `/** Latest version of ${eventType}. */\nexport type ${eventType} = ${eventType}V${last};`);
  }
  for (const decl of [...named.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, d]) => d)) {
    out.push(decl, '');
  }
  out.push(`/** Latest schema version per event type. */`);
  out.push(`export const latestVersions = {\n${latest.join('\n')}\n} as const;`, '');
  out.push(`export type ${cap(catalog.aggregate)}EventType = keyof typeof latestVersions;`, '');
  out.push(`/** What handlers receive: the event upcast to its latest version. */`);
  out.push(`export type ${cap(catalog.aggregate)}Event =\n${union.join('\n')};`, '');
  return out.join('\n');
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
