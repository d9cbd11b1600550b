import avro from 'avsc';
import { SchemaType, type SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { PipelineError } from '../shared/errors.js';
import { createRegistry, type RegistrySettings } from './registry.js';
import { retry } from '../shared/retry.js';

/**
 * What the pipeline needs of a Confluent-API schema registry. Backed by
 * @kafkajs/confluent-schema-registry (register, id ↔ schema), plus plain HTTP
 * for the calls the library does not expose (subject config, compatibility
 * check, listing). Works unchanged against Apicurio's ccompat API, Redpanda's
 * and Confluent's registries.
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

export class RegistryError extends PipelineError {
  readonly status: number | undefined;

  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    // 5xx and network failures are worth retrying; 4xx are answers.
    super('REGISTRY', message, { retriable: options.status === undefined || options.status >= 500, cause: options.cause });
    this.status = options.status;
  }
}

/** Apicurio's spurious conflict (see register); an incompatible schema is also 409 but says so. */
const isSpuriousConflict = (err: unknown) =>
  err instanceof RegistryError && err.status === 409 && /already exists/i.test(err.message);

export function createSchemaStore(settings: RegistrySettings, client: SchemaRegistry = createRegistry(settings)): SchemaStore {
  const base = settings.url.replace(/\/+$/, '');
  const headers: Record<string, string> = { 'content-type': 'application/vnd.schemaregistry.v1+json' };
  if (settings.username) {
    headers.authorization = `Basic ${Buffer.from(`${settings.username}:${settings.password}`).toString('base64')}`;
  }
  const byId = new Map<number, Promise<avro.Type>>();
  const ids = new Map<string, Promise<number>>();

  async function http<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new RegistryError(`registry ${method} ${path} failed: ${(err as Error).message}`, { cause: err });
    }
    const text = await res.text();
    if (!res.ok) throw new RegistryError(`registry ${method} ${path} answered ${res.status}: ${text}`, { status: res.status });
    return (text ? JSON.parse(text) : undefined) as T;
  }

  const enc = encodeURIComponent;
  return {
    schemaById(id) {
      let p = byId.get(id);
      if (!p) {
        p = client.getSchema(id).then(
          (s) => (s instanceof avro.Type ? s : avro.Type.forSchema(s as unknown as avro.Schema)),
          (err: unknown) => {
            byId.delete(id);
            const status = (err as { status?: number }).status;
            if (status === 404) throw new UnknownSchemaIdError(id, err);
            throw new RegistryError(`fetching schema id ${id} failed: ${(err as Error).message}`, { status, cause: err });
          },
        );
        byId.set(id, p);
      }
      return p;
    },
    idOf(subject, version) {
      const key = `${subject}\u0000${version}`;
      let p = ids.get(key);
      if (!p) {
        p = client.getRegistryId(subject, version).catch((err: unknown) => {
          ids.delete(key);
          const status = (err as { status?: number }).status;
          throw new RegistryError(`no id for ${subject} v${version}: ${(err as Error).message}`, { status, cause: err });
        });
        ids.set(key, p);
      }
      return p;
    },
    async register(subject, schema) {
      const body = { type: SchemaType.AVRO as const, schema: JSON.stringify(schema) };
      // Two cases answer 409 without being a refusal: a retried register whose
      // first attempt landed (the schema is there: registered is registered),
      // and Apicurio's SQL storage, which reports "artifact already exists" when
      // the same schema text is registered concurrently under other subjects
      // (a unique-key race on its shared content table; the subject does not
      // exist). The second is transient: register again after a short pause.
      return retry(
        async () => {
          try {
            const { id } = await client.register(body, { subject });
            return id;
          } catch (err) {
            const status = (err as { status?: number }).status;
            if (status === 409) {
              const existing = await client.getRegistryIdBySchema(subject, body).catch(() => undefined);
              if (existing !== undefined) return existing;
            }
            throw new RegistryError(`registering ${subject} failed: ${(err as Error).message}`, { status, cause: err });
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
      await http('PUT', `/config/${enc(subject)}`, { compatibility: level });
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
