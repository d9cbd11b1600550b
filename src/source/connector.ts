import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { LogAdmin } from '../log/port.js';
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

/**
 * What becomes of a REMOVE, by who deleted the item (the stream record's
 * `userIdentity`: DynamoDB's TTL, or anyone else): `ignore` (counted as
 * filtered), `relay` (a removal record on the topic: key = persistence id,
 * JSON value naming the item's keys), `tombstone` (key = persistence id,
 * null value) or `dead-letter` (the bridge DLQ). Relayed removals and
 * tombstones carry `cdc_operation: REMOVE` and `remove_origin: ttl | user`.
 */
export const removePolicy = z.enum(['ignore', 'relay', 'tombstone', 'dead-letter']);
export type RemovePolicy = z.output<typeof removePolicy>;

const removeSchema = z.union([
  removePolicy.transform((p) => ({ ttl: p, user: p })),
  z.object({ ttl: removePolicy.default('ignore'), user: removePolicy.default('ignore') }).strict(),
]);

const modifyRemoveSchema = z.union([
  z.literal('ignore').transform(() => ({ modify: 'ignore' as const, remove: { ttl: 'ignore' as const, user: 'ignore' as const } })),
  z
    .object({
      /** `relay` suits tables that overwrite one item per entity (seed 002's optimistic lock). */
      modify: recordPolicy.default('ignore'),
      remove: removeSchema.default({ ttl: 'ignore', user: 'ignore' }),
    })
    .strict(),
]);

/**
 * Gap repair: what the bridge does when a shard's position fell behind the
 * stream's trim horizon (docs/operating/gap-repair.md).
 */
const gapRepairSchema = z
  .object({
    /**
     * How far apart in `written_at` two writes can be in the wrong order
     * (writer clocks, and the time between stamping written_at and the write
     * landing, retries included). The repair reads this much before the last
     * relayed write and after the stream's resume point, and skips what the
     * topic already holds.
     */
    skewAllowanceMs: z.number().int().min(0).max(3_600_000).default(120_000),
    /** The table's write-time index (src/shared/write-time-index.ts); absent: a filtered Scan of the whole table. */
    index: z
      .object({
        name: z.string().min(3).max(255),
        bucketAttribute: attr,
        bucketMs: z.number().int().min(60_000).max(31 * 24 * 3_600_000),
        slices: z.number().int().min(1).max(1024),
        /**
         * ISO-8601 instant from which every write carries the bucket attribute (an index added to a
         * table that older writers filled): a window starting earlier is read by Scan. Absent: all do.
         */
        since: z
          .string()
          .refine((s) => Number.isFinite(Date.parse(s)), { message: 'not an ISO-8601 instant' })
          .optional(),
      })
      .strict()
      .optional(),
    /** Scan segments and page size of the filtered Scan (no index). */
    segments: z.number().int().min(1).max(64).default(4),
    pageSize: z.number().int().min(1).max(1000).default(500),
  })
  .strict();

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
    modifyRemovePolicy: modifyRemoveSchema.default({ modify: 'ignore', remove: { ttl: 'ignore', user: 'ignore' } }),
    batch: z
      .object({
        /** GetRecords Limit; DynamoDB Streams caps it at 1,000. */
        maxRecords: z.number().int().min(1).max(1000).default(1000),
        /**
         * At the head of the stream, the time from one GetRecords call to the next after a
         * page that was not full (the page's commit counts towards it). DynamoDB Streams serves
         * 5 GetRecords a second per shard; 250 ms is AWS Lambda's own cadence and leaves room
         * for a second reader.
         */
        pollIntervalMs: z.number().int().min(0).max(60_000).default(250),
        /** The same after an empty page: the longest an event written to an idle shard waits to be read. */
        idlePollIntervalMs: z.number().int().min(0).max(60_000).default(250),
        /**
         * Catching up, pages read while a transaction commits join the next
         * one, up to this many records (default 5,000)…
         */
        maxTransactionRecords: z.number().int().min(1).max(100_000).optional(),
        /** …and about this many bytes of keys, values and headers (default 4 MiB; the producer sends it in requests of ≤ 768 KiB). */
        maxTransactionBytes: z.number().int().min(1024).max(64 * 1024 * 1024).optional(),
      })
      .strict()
      .default({ maxRecords: 1000, pollIntervalMs: 250, idlePollIntervalMs: 250 }),
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
    gapRepair: gapRepairSchema.default({ skewAllowanceMs: 120_000, segments: 4, pageSize: 500 }),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.gapRepair.index && !c.mapping.writtenAt) {
      ctx.addIssue({ code: 'custom', path: ['gapRepair', 'index'], message: 'needs mapping.writtenAt (the index is sorted by it)' });
    }
  });

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

/**
 * Reads and validates a connector file. Given a list or a folder (see
 * {@link loadConnectors}) it returns the first connector: the primary one,
 * whose topic the consumer roles read.
 */
export function loadConnector(file: string): ConnectorConfig {
  const files = connectorFiles(file);
  if (files.length !== 1) return loadConnectors(file)[0]!;
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(files[0]!, 'utf8'));
  } catch (err) {
    throw new ConnectorConfigError(file, [`not readable JSON: ${(err as Error).message}`]);
  }
  return parseConnector(doc, file);
}

/** `a.json,b.json` or a folder (its *.json files, by name); a single file is a list of one. */
export function connectorFiles(spec: string): string[] {
  return spec
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean)
    .flatMap((f) => {
      const isDir = (() => {
        try {
          return statSync(f).isDirectory();
        } catch {
          return false;
        }
      })();
      if (!isDir) return [f];
      return readdirSync(f)
        .filter((n) => n.endsWith('.json'))
        .sort()
        .map((n) => path.join(f, n));
    });
}

/**
 * The connectors of one bridge process (CONNECTOR_FILE: a file, a
 * comma-separated list of files, or a folder of them), each validated. Each
 * connector keeps its own shards, leases (`<table>-leases`), checkpoints
 * (keyed by table and shard), transactional ids and DLQ; so that none of
 * these are shared by accident, names and tables must be unique.
 */
export function loadConnectors(spec: string): ConnectorConfig[] {
  const files = connectorFiles(spec);
  if (files.length === 0) throw new ConnectorConfigError(spec, ['no connector file (a file, a comma-separated list, or a folder of *.json)']);
  const connectors = files.map((f) => loadConnector(f));
  const problems: string[] = [];
  for (const key of ['name', 'table'] as const) {
    const seen = new Map<string, string>();
    connectors.forEach((c, i) => {
      const other = seen.get(c[key]);
      if (other) problems.push(`${files[i]}: ${key} "${c[key]}" is also the ${key} of ${other}`);
      seen.set(c[key], files[i]!);
    });
  }
  const leaseTables = new Set<string>();
  for (const c of connectors) {
    if (leaseTables.has(c.leases.table)) problems.push(`lease table ${c.leases.table} is used by two connectors`);
    leaseTables.add(c.leases.table);
  }
  if (problems.length > 0) throw new ConnectorConfigError(spec, problems);
  return connectors;
}

function isRegExp(p: string): boolean {
  try {
    new RegExp(p);
    return true;
  } catch {
    return false;
  }
}

/** The connector's topics: its event topic, its DLQ and the checkpoint topic. */
export const connectorTopics = (connector: ConnectorConfig): string[] => [connector.topic, connector.dlqTopic, connector.checkpointTopic];

/**
 * Creates the connector's topic, its DLQ and the checkpoint topic if missing,
 * each with `replicationFactor` replicas (TOPIC_REPLICATION_FACTOR; undefined:
 * the brokers' default.replication.factor).
 */
export async function ensureTopics(admin: LogAdmin, connector: ConnectorConfig, options: { replicationFactor: number | undefined }): Promise<string[]> {
  return ensureTopicSpecs(
    admin,
    [
      { topic: connector.topic, partitions: connector.partitions },
      { topic: connector.dlqTopic, partitions: 1 },
      { topic: connector.checkpointTopic, partitions: 1, compacted: true },
    ],
    options.replicationFactor,
  );
}
