import path from 'node:path';
import avro from 'avsc';
import { PipelineError } from '../shared/errors.js';
import type { EventCatalog } from './catalog.js';
import type { Upcaster } from './upcasters/index.js';

/**
 * The evolution rule: which version steps Avro schema resolution carries
 * and which need an upcaster.
 *
 * Comparing vN (writer) with vN+1 (reader) record by record — nested records
 * too, fields matched by name or by a reader field's `aliases` — a step is
 * resolution-only when it only adds fields that have a default, only removes
 * fields, widens a kept field by an Avro promotion (int → long → float →
 * double, string ↔ bytes) or by new union branches, or adds enum symbols.
 *
 * It needs an upcaster registered for `<eventType>@N` when, in some record:
 *  1. fields are removed while fields with a default are added — a rename
 *     without an alias, a unit change, a split or merge: resolution would
 *     read every older event's new field as its default;
 *  2. an enum loses a symbol older events can carry — resolution maps it to
 *     the enum's default or fails;
 *  3. a kept field changes type beyond a promotion or a union widening.
 *
 * A field added without a default is reported as incompatible: resolution
 * cannot read older events at all (the registry's BACKWARD check refuses it).
 * A unit or meaning changed in place (same name, same type) is invisible to
 * any schema comparison; the policy is to give the new meaning a new field
 * name, which makes it rule 1.
 */
export interface StepCheck {
  eventType: string;
  from: number;
  to: number;
  /** Why resolution cannot carry the meaning of this step (empty: resolution-only). */
  needsUpcaster: string[];
  /** Changes resolution cannot read at all. */
  incompatible: string[];
  /** Whether an upcaster is registered for this step. */
  hasUpcaster: boolean;
}

export class SchemaEvolutionError extends PipelineError {
  constructor(message: string) {
    super('SCHEMA_EVOLUTION', message);
  }
}

type RecordType = avro.Type & { fields: { name: string; type: avro.Type; aliases: string[]; defaultValue(): unknown }[] };
type EnumType = avro.Type & { symbols: string[] };
type UnionType = avro.Type & { types: avro.Type[] };

const kind = (t: avro.Type): string => (t.typeName.startsWith('union') ? 'union' : t.typeName);
const sameNamed = (w: avro.Type, r: avro.Type) => kind(w) === kind(r) && (w.name === undefined || w.name === r.name);

function resolvable(reader: avro.Type, writer: avro.Type): boolean {
  try {
    reader.createResolver(writer);
    return true;
  } catch {
    return false;
  }
}

interface Findings {
  needsUpcaster: string[];
  incompatible: string[];
}

function compareRecord(path: string, writer: RecordType, reader: RecordType, out: Findings): void {
  const matched = new Set<string>();
  const added: RecordType['fields'] = [];
  for (const rf of reader.fields) {
    const wf = writer.fields.find((f) => f.name === rf.name) ?? writer.fields.find((f) => rf.aliases.includes(f.name));
    if (!wf) {
      added.push(rf);
      continue;
    }
    matched.add(wf.name);
    compareType(`${path}.${rf.name}`, wf.type, rf.type, out);
  }
  const removed = writer.fields.filter((f) => !matched.has(f.name)).map((f) => f.name);
  const withDefault = added.filter((f) => f.defaultValue() !== undefined).map((f) => f.name);
  for (const f of added) {
    if (f.defaultValue() === undefined) out.incompatible.push(`${path}.${f.name} is added without a default: older events cannot be read`);
  }
  if (removed.length > 0 && withDefault.length > 0) {
    out.needsUpcaster.push(
      `${path}: ${removed.join(', ')} removed while ${withDefault.join(', ')} added with a default ` +
        `(a rename, unit change, split or merge): resolution would read every older event's ${withDefault.join(', ')} as the default`,
    );
  }
}

function compareType(path: string, writer: avro.Type, reader: avro.Type, out: Findings): void {
  const w = kind(writer);
  const r = kind(reader);
  if (w === 'record' && r === 'record') return compareRecord(path, writer as RecordType, reader as RecordType, out);
  if (w === 'enum' && r === 'enum') {
    const lost = (writer as EnumType).symbols.filter((s) => !(reader as EnumType).symbols.includes(s));
    if (lost.length > 0) {
      out.needsUpcaster.push(`${path}: enum symbols ${lost.join(', ')} are gone (a recoded enum): resolution would map them to the default or fail`);
    }
    return;
  }
  if (w === 'array' && r === 'array') {
    return compareType(`${path}[]`, (writer as avro.Type & { itemsType: avro.Type }).itemsType, (reader as avro.Type & { itemsType: avro.Type }).itemsType, out);
  }
  if (w === 'map' && r === 'map') {
    return compareType(`${path}{}`, (writer as avro.Type & { valuesType: avro.Type }).valuesType, (reader as avro.Type & { valuesType: avro.Type }).valuesType, out);
  }
  if (w === 'union' || r === 'union') {
    const writerBranches = w === 'union' ? (writer as UnionType).types : [writer];
    const readerBranches = r === 'union' ? (reader as UnionType).types : [reader];
    for (const wb of writerBranches) {
      const rb = readerBranches.find((b) => sameNamed(wb, b)) ?? readerBranches.find((b) => resolvable(b, wb));
      if (!rb) {
        out.needsUpcaster.push(`${path}: ${wb.name ?? wb.typeName} values of older events have no counterpart in the new type`);
        continue;
      }
      compareType(path, wb, rb, out);
    }
    return;
  }
  if (w === r && (writer.name === undefined || writer.name === reader.name) && resolvable(reader, writer)) return;
  if (w !== r && resolvable(reader, writer) && !['record', 'enum', 'fixed'].includes(w)) return; // promotion
  out.needsUpcaster.push(`${path}: type changes from ${writer.name ?? w} to ${reader.name ?? r}`);
}

/** Classifies one step: `writer` is version `from`, `reader` the next version. */
export function checkStep(
  eventType: string,
  from: number,
  writer: avro.Type,
  reader: avro.Type,
  upcasters: readonly Upcaster[],
): StepCheck {
  const out: Findings = { needsUpcaster: [], incompatible: [] };
  compareType(eventType, writer, reader, out);
  const hasUpcaster = upcasters.some((u) => u.eventType === eventType && u.from === from);
  return { eventType, from, to: from + 1, ...out, hasUpcaster };
}

/** Whether a step may be published: resolution-only, or its meaning carried by a registered upcaster. */
export function stepAccepted(c: StepCheck): boolean {
  return (c.needsUpcaster.length === 0 && c.incompatible.length === 0) || c.hasUpcaster;
}

/** Every version step of every event type in the catalog. */
export function checkCatalog(catalog: EventCatalog, upcasters: readonly Upcaster[]): StepCheck[] {
  const out: StepCheck[] = [];
  for (const eventType of catalog.eventTypes()) {
    const vs = catalog.versions(eventType);
    for (let i = 0; i + 1 < vs.length; i++) out.push(checkStep(eventType, vs[i]!.version, vs[i]!.type, vs[i + 1]!.type, upcasters));
  }
  return out;
}

/** Human-readable verdict of one step. */
export function describeStep(c: StepCheck): string {
  const head = `${c.eventType} v${c.from} → v${c.to}`;
  if (c.needsUpcaster.length === 0 && c.incompatible.length === 0) return `${head}: resolution-only`;
  const why = [...c.incompatible, ...c.needsUpcaster].map((m) => `\n  ${m}`).join('');
  return c.hasUpcaster
    ? `${head}: carried by the upcaster ${c.eventType}@${c.from}${why}`
    : `${head}: REJECTED, needs an upcaster registered for ${c.eventType}@${c.from} in src/events/upcasters/index.ts${why}`;
}

/**
 * Throws {@link SchemaEvolutionError} naming every step of the catalog whose
 * meaning resolution cannot carry and that has no upcaster. Called where the
 * ladder is built and before schemas are registered, so such a version can
 * neither be registered nor relayed.
 */
export function assertEvolution(catalog: EventCatalog, upcasters: readonly Upcaster[]): void {
  const refused = checkCatalog(catalog, upcasters).filter((c) => !stepAccepted(c));
  if (refused.length > 0) throw new SchemaEvolutionError(refused.map(describeStep).join('\n'));
}

export interface CandidateCheck {
  eventType: string;
  version: number;
  /** The step from the previous version; undefined for a first version. */
  step: StepCheck | undefined;
  accepted: boolean;
  summary: string;
}

/**
 * Checks a candidate schema file against the catalog: its event type is the
 * record name, its version the file name's `.v<N>.avsc` (else the catalog's
 * latest + 1), and the step from version N-1 must follow the evolution rule.
 */
export function checkCandidate(catalog: EventCatalog, upcasters: readonly Upcaster[], schema: avro.Schema, file: string): CandidateCheck {
  const type = avro.Type.forSchema(schema);
  const fullName = type.name ?? '';
  const eventType = catalog.eventTypeOf(fullName) ?? fullName.split('.').pop() ?? fullName;
  const known = catalog.eventTypeOf(fullName) !== undefined;
  const fromName = /\.v(\d+)\.avsc$/.exec(path.basename(file));
  const version = fromName ? Number(fromName[1]) : known ? catalog.latest(eventType).version + 1 : 1;
  if (version === 1) return { eventType, version, step: undefined, accepted: true, summary: `${eventType} v1: a first version` };
  if (!known || version - 1 > catalog.versions(eventType).length) {
    const summary = `${eventType} v${version}: REJECTED, schemas/ has no v${version - 1} to evolve from (versions are 1..N without holes)`;
    return { eventType, version, step: undefined, accepted: false, summary };
  }
  const step = checkStep(eventType, version - 1, catalog.get(eventType, version - 1).type, type, upcasters);
  return { eventType, version, step, accepted: stepAccepted(step), summary: describeStep(step) };
}
