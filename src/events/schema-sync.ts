import avro from 'avsc';
import { PipelineError } from '../shared/errors.js';
import { fingerprintOf, type EventCatalog } from './catalog.js';
import { assertEvolution } from './evolution.js';
import type { SchemaStore } from './schema-store.js';
import { subjectFor } from './serde.js';
import { inventoryUpcasters, type Upcaster } from './upcasters/index.js';

export interface SyncReport {
  subject: string;
  version: number;
  id: number;
  action: 'registered' | 'present';
}

/**
 * Registers every version of every event type under
 * `<topic>-<record full name>`, in version order, with the subject's
 * compatibility set to BACKWARD (Apicurio's default is NONE, Confluent's is
 * BACKWARD: set it explicitly). Idempotent. The registry, not this code,
 * decides whether a version is compatible; a refused version stops the sync
 * with the registry's message. Fails if the registry's subject version does
 * not equal the file's version, because the bridge looks ids up by version.
 * Before anything is registered, the evolution rule (evolution.ts) is checked:
 * a version step whose meaning Avro resolution cannot carry and that has no
 * upcaster stops the sync (SchemaEvolutionError), because BACKWARD accepts it.
 */
export async function syncSchemas(
  store: SchemaStore,
  catalog: EventCatalog,
  topic: string,
  upcasters: readonly Upcaster[] = inventoryUpcasters,
): Promise<SyncReport[]> {
  assertEvolution(catalog, upcasters);
  const report: SyncReport[] = [];
  for (const eventType of catalog.eventTypes()) {
    const subject = subjectFor(topic, catalog.fullName(eventType));
    let existing = await store.versions(subject).catch(() => [] as number[]);
    for (const sv of catalog.versions(eventType)) {
      if (existing.includes(sv.version)) {
        const registered = await store.schemaOf(subject, sv.version);
        const registeredType = avro.Type.forSchema(JSON.parse(registered.schema) as avro.Schema);
        if (fingerprintOf(registeredType) !== sv.fingerprint) {
          throw new PipelineError(
            'SCHEMA_DRIFT',
            `${subject} v${sv.version} in the registry differs from schemas/${eventType}.v${sv.version}.avsc`,
          );
        }
        report.push({ subject, version: sv.version, id: registered.id, action: 'present' });
        continue;
      }
      if (existing.length > 0) await store.setCompatibility(subject, 'BACKWARD');
      const id = await store.register(subject, sv.schema);
      existing = await store.versions(subject);
      // The schema must now be the subject's version sv.version. Checked by id, not by "the last
      // version is ours": bridges starting together sync the same subjects at once, and another
      // one may already have registered the next version (registering the same schema is idempotent).
      const atVersion = existing.includes(sv.version) ? await store.schemaOf(subject, sv.version) : undefined;
      if (atVersion?.id !== id) {
        throw new PipelineError(
          'SCHEMA_VERSION_MISMATCH',
          `${subject}: registering v${sv.version} became another subject version (versions: ${existing.join(', ')}); the subject has versions the files do not`,
        );
      }
      if (existing.length === 1) await store.setCompatibility(subject, 'BACKWARD');
      report.push({ subject, version: sv.version, id, action: 'registered' });
    }
  }
  return report;
}

