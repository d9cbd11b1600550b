import { readFileSync } from 'node:fs';
import type { Admin } from 'kafkajs';
import { z } from 'zod';
import { ensureTopicSpecs } from '../log/topics.js';
import { PipelineError } from '../shared/errors.js';

/**
 * A connector file (connectors/*.json) says how one DynamoDB table becomes
 * one Kafka topic: which attributes carry the envelope, how the payload is
 * encoded, and the delivery guarantee. It is validated once at load; every
 * problem is reported with the path of the bad field.
 */

const attr = z.string().min(1);

/** One attribute, or several joined (seed 002 keys an entity by pk + sk). */
const persistenceIdSchema = z.union([
  attr.transform((a) => ({ attributes: [a], separator: '#', stripPattern: undefined as string | undefined })),
  z
    .object({
      attributes: z.array(attr).min(1),
      separator: z.string().default('#'),
      /** Removed from the joined id, e.g. mbc-cqrs' `@<version>` suffix on sk. */
      stripPattern: z
        .string()
        .refine((p) => isRegExp(p), { message: 'not a valid regular expression' })
        .optional(),
    })
    .strict(),
]);

const mappingSchema = z
  .object({
    persistenceId: persistenceIdSchema,
    sequenceNr: attr,
    eventType: attr,
    /** Absent: avro payloads cannot be read (required), JSON payloads use the latest version. */
    schemaVersion: attr.optional(),
    payload: attr,
    payloadCodec: z.enum(['avro', 'json']),
    /** Epoch ms (N) or ISO-8601 (S). */
    writtenAt: attr.optional(),
    /** Event time for JSON payloads' metadata; falls back to writtenAt. */
    occurredAt: attr.optional(),
    correlationId: attr.optional(),
    causationId: attr.optional(),
    eventId: attr.optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.payloadCodec === 'avro' && !m.schemaVersion) {
      ctx.addIssue({
        code: 'custom',
        path: ['schemaVersion'],
        message: 'required when payloadCodec is avro (the bytes were written at a version)',
      });
    }
  });

const recordPolicy = z.enum(['ignore', 'relay', 'dead-letter']);

const modifyRemoveSchema = z.union([
  z.literal('ignore').transform(() => ({ modify: 'ignore' as const, remove: 'ignore' as const })),
  z
    .object({
      /** `relay` suits tables that overwrite one item per entity (seed 002's optimistic lock). */
      modify: recordPolicy.default('ignore'),
      remove: z.enum(['ignore', 'dead-letter']).default('ignore'),
    })
    .strict(),
]);

export const connectorSchema = z
  .object({
    name: z.string().min(1),
    table: z.string().min(3).max(255),
    topic: z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'Kafka topic names use [A-Za-z0-9._-], at most 249 characters'),
    partitions: z.number().int().min(1).max(1024).default(6),
    /** schemas/<aggregate>/ holds the event catalog of this topic. */
    aggregate: z.string().min(1).default('inventory'),
    mapping: mappingSchema,
    delivery: z.enum(['exactly-once', 'at-least-once']).default('exactly-once'),
    modifyRemovePolicy: modifyRemoveSchema.default({ modify: 'ignore', remove: 'ignore' }),
    batch: z
      .object({
        /** GetRecords Limit; DynamoDB Streams caps it at 1,000. */
        maxRecords: z.number().int().min(1).max(1000).default(1000),
        /** Pause after a page that was not full (DynamoDB allows ~5 GetRecords/s per shard). */
        pollIntervalMs: z.number().int().min(0).max(60_000).default(250),
        /** Pause after an empty page. */
        idlePollIntervalMs: z.number().int().min(0).max(60_000).default(1000),
      })
      .strict()
      .default({ maxRecords: 1000, pollIntervalMs: 250, idlePollIntervalMs: 1000 }),
    shards: z
      .object({
        rediscoveryIntervalMs: z.number().int().min(100).max(600_000).default(10_000),
      })
      .strict()
      .default({ rediscoveryIntervalMs: 10_000 }),
    checkpointTopic: z.string().min(1).default('_cdc-bridge-checkpoints'),
    /** Default `<topic>.dlq.cdc-bridge`. */
    dlqTopic: z.string().min(1).optional(),
    leases: z
      .object({
        enabled: z.boolean().default(true),
        /** Default `<table>-leases`. */
        table: z.string().min(3).optional(),
        durationMs: z.number().int().min(1000).max(600_000).default(10_000),
        renewIntervalMs: z.number().int().min(200).max(300_000).default(3_000),
      })
      .strict()
      .refine((l) => l.renewIntervalMs * 2 <= l.durationMs, {
        message: 'renewIntervalMs must be at most half of durationMs (a missed renewal must not lose the lease)',
        path: ['renewIntervalMs'],
      })
      .default({ enabled: true, durationMs: 10_000, renewIntervalMs: 3_000 }),
    backfill: z
      .object({
        /** Snapshot the table on a first start when the stream does not hold the whole history. */
        onFirstStart: z.boolean().default(true),
        segments: z.number().int().min(1).max(64).default(4),
        pageSize: z.number().int().min(1).max(1000).default(500),
      })
      .strict()
      .default({ onFirstStart: true, segments: 4, pageSize: 500 }),
  })
  .strict();

export type ConnectorConfig = z.output<typeof connectorSchema> & { dlqTopic: string; leases: { table: string } };
export type ConnectorInput = z.input<typeof connectorSchema>;

export class ConnectorConfigError extends PipelineError {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super('CONNECTOR_CONFIG', `invalid connector ${source}:\n  ${problems.join('\n  ')}`);
  }
}

/** Validates a parsed connector document; throws ConnectorConfigError naming each bad field. */
export function parseConnector(doc: unknown, source = 'connector'): ConnectorConfig {
  const parsed = connectorSchema.safeParse(doc);
  if (!parsed.success) {
    throw new ConnectorConfigError(
      source,
      parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`),
    );
  }
  const c = parsed.data;
  return {
    ...c,
    dlqTopic: c.dlqTopic ?? `${c.topic}.dlq.cdc-bridge`,
    leases: { ...c.leases, table: c.leases.table ?? `${c.table}-leases` },
  };
}

/** Reads and validates a connector file. */
export function loadConnector(path: string): ConnectorConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConnectorConfigError(path, [`not readable JSON: ${(err as Error).message}`]);
  }
  return parseConnector(doc, path);
}

function isRegExp(p: string): boolean {
  try {
    new RegExp(p);
    return true;
  } catch {
    return false;
  }
}

/** Creates the connector's topic, its DLQ and the checkpoint topic if missing. */
export async function ensureTopics(admin: Admin, connector: ConnectorConfig, options: { replicationFactor?: number } = {}): Promise<string[]> {
  return ensureTopicSpecs(
    admin,
    [
      { topic: connector.topic, partitions: connector.partitions },
      { topic: connector.dlqTopic, partitions: 1 },
      { topic: connector.checkpointTopic, partitions: 1, compacted: true },
    ],
    options.replicationFactor ?? 1,
  );
}
