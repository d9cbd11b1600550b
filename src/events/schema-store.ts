import avro from 'avsc';
import { errorMessage, PipelineError } from '../shared/errors.js';
import { createRegistryCall, RegistryError, type RegistryCall, type RegistrySettings } from './registry.js';
import { retry } from '../shared/retry.js';

/**
 * What the pipeline needs of a Confluent-API schema registry, over its plain
 * HTTP API (registry.ts: every request bounded, outages retriable). Works
 * unchanged against Apicurio's ccompat API, Redpanda's and Confluent's
 * registries.
 */
export interface SchemaStore {
  /** Writer schema of a registry id (cached forever: ids are immutable). */
  schemaById(id: number): Promise<avro.Type>;
  /** Registry id of `subject` at `version` (cached). */
  idOf(subject: string, version: number): Promise<number>;
  register(subject: string, schema: avro.Schema): Promise<number>;
  setCompatibility(subject: string, level: 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FULL' | 'NONE'): Promise<void>;
  /** Asks the registry whether `schema` may become the next version of `subject`. */
  isCompatible(subject: string, schema: avro.Schema): Promise<{ compatible: boolean; messages: string[] }>;
  subjects(): Promise<string[]>;
  versions(subject: string): Promise<number[]>;
  /** The registered schema text of `subject` at `version`. */
  schemaOf(subject: string, version: number): Promise<{ id: number; schema: string }>;
}

export class UnknownSchemaIdError extends PipelineError {
  constructor(id: number, cause?: unknown) {
    super('UNKNOWN_SCHEMA_ID', `schema id ${id} is not in the registry`, { cause });
  }
}

export { RegistryError };

/** Apicurio's spurious conflict (see register); an incompatible schema is also 409 but says so. */
const isSpuriousConflict = (err: unknown) =>
  err instanceof RegistryError && err.status === 409 && /already exists/i.test(err.message);

export function createSchemaStore(settings: RegistrySettings, http: RegistryCall = createRegistryCall(settings)): SchemaStore {
  const byId = new Map<number, Promise<avro.Type>>();
  const ids = new Map<string, Promise<number>>();

  const enc = encodeURIComponent;
  return {
    schemaById(id) {
      let p = byId.get(id);
      if (!p) {
        p = http<{ schema: string; schemaType?: string }>('GET', `/schemas/ids/${id}`).then(
          (s) => {
            if (s.schemaType !== undefined && s.schemaType !== 'AVRO') throw new PipelineError('SCHEMA_TYPE', `schema id ${id} is ${s.schemaType}, not AVRO`);
            return avro.Type.forSchema(JSON.parse(s.schema) as avro.Schema);
          },
          (err: unknown) => {
            if (err instanceof RegistryError && err.status === 404) throw new UnknownSchemaIdError(id, err);
            throw err;
          },
        );
        // A failure is not cached: the next call asks again.
        p.catch(() => byId.delete(id));
        byId.set(id, p);
      }
      return p;
    },
    idOf(subject, version) {
      const key = `${subject}\u0000${version}`;
      let p = ids.get(key);
      if (!p) {
        p = http<{ id: number }>('GET', `/subjects/${enc(subject)}/versions/${version}`).then(
          (r) => r.id,
          (err: unknown) => {
            const status = err instanceof RegistryError ? err.status : undefined;
            throw new RegistryError(`no id for ${subject} v${version}: ${errorMessage(err)}`, { ...(status === undefined ? {} : { status }), cause: err });
          },
        );
        p.catch(() => ids.delete(key));
        ids.set(key, p);
      }
      return p;
    },
    async register(subject, schema) {
      // AVRO is the Confluent API's default type: no schemaType, as the Confluent clients send it.
      const body = { schema: JSON.stringify(schema) };
      // Two cases answer 409 without being a refusal: a retried register whose
      // first attempt landed (the schema is there: registered is registered),
      // and Apicurio's SQL storage, which reports "artifact already exists" when
      // the same schema text is registered concurrently under other subjects
      // (a unique-key race on its shared content table; the subject does not
      // exist). The second is transient: register again after a short pause.
      return retry(
        async () => {
          try {
            return (await http<{ id: number }>('POST', `/subjects/${enc(subject)}/versions`, body)).id;
          } catch (err) {
            if (err instanceof RegistryError && err.status === 409) {
              const existing = await http<{ id: number }>('POST', `/subjects/${enc(subject)}`, body).catch(() => undefined);
              if (existing !== undefined) return existing.id;
            }
            throw err;
          }
        },
        {
          attempts: 8,
          initialDelayMs: 50,
          maxDelayMs: 1_000,
          retryOn: (err) => (err instanceof RegistryError && err.retriable) || isSpuriousConflict(err),
        },
      );
    },
    async setCompatibility(subject, level) {
      // Apicurio creates the subject's rule on the first PUT: of two at once (bridges starting
      // together), the loser gets 409 "A rule named 'COMPATIBILITY' already exists"; the same PUT
      // again updates the rule that now exists.
      await retry(() => http('PUT', `/config/${enc(subject)}`, { compatibility: level }), {
        attempts: 5,
        initialDelayMs: 50,
        maxDelayMs: 500,
        retryOn: (err) => (err instanceof RegistryError && err.retriable) || isSpuriousConflict(err),
      });
    },
    async isCompatible(subject, schema) {
      const existing = await this.versions(subject).catch(() => []);
      if (existing.length === 0) return { compatible: true, messages: ['no earlier version'] };
      const r = await http<{ is_compatible: boolean; messages?: string[] }>(
        'POST',
        `/compatibility/subjects/${enc(subject)}/versions/latest?verbose=true`,
        { schema: JSON.stringify(schema), schemaType: 'AVRO' },
      );
      return { compatible: r.is_compatible, messages: r.messages ?? [] };
    },
    subjects: () => http<string[]>('GET', '/subjects'),
    versions: (subject) => http<number[]>('GET', `/subjects/${enc(subject)}/versions`),
    schemaOf: (subject, version) => http<{ id: number; schema: string }>('GET', `/subjects/${enc(subject)}/versions/${version}`),
  };
}
