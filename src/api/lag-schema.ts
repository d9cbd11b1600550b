import { z } from '@hono/zod-openapi';

/**
 * The shape of the lag monitor's published snapshot that the API relies on
 * (`GET /lag` and the consumer-lag part of `lagSeconds`). Deliberately loose:
 * statuses are strings and extra fields pass through untouched, so the
 * monitor can grow without the API changing. Mirrors src/monitor/lag-snapshot.ts.
 */
const statusSchema = z
  .object({
    status: z.string().openapi({ example: 'OK', description: 'Burrow-style status: OK, WARN, ERR, STOP, STALL, REWIND' }),
    burrowStatus: z.string().optional(),
    reason: z.string(),
    detail: z.string(),
    complete: z.number().optional(),
  })
  .openapi('LagStatus');

const storedPartitionSchema = z.object({
  offset: z.number(),
  updatedAt: z.string(),
  lag: z.number(),
  lagSeconds: z.number(),
  disagree: z.boolean(),
});

const kafkaPartitionSchema = z
  .object({
    lag: z.number(),
    lagSeconds: z.number(),
    lagSecondsMethod: z.string(),
    status: z.string(),
    reason: z.string(),
  })
  .openapi({ description: "Advisory: lag and status from Kafka's committed offset alone (what Burrow or kminion would see)" });

const partitionSchema = z
  .object({
    partition: z.number().int(),
    logStartOffset: z.number().optional(),
    logEndOffset: z.number(),
    offset: z.number().optional().openapi({ description: "Where the group stands: the offset stored in PostgreSQL for groups that store offsets, else Kafka's committed offset" }),
    committedOffset: z.number().nullable(),
    lag: z.number().nullable(),
    lagSeconds: z.number().nullable(),
    lagSecondsMethod: z.string().nullable().optional(),
    status: z.string().nullable(),
    reason: z.string().nullable().optional(),
    /** Offsets the group stores in PostgreSQL with its view rows (exactly-once groups). */
    stored: storedPartitionSchema.nullable().optional(),
    kafka: kafkaPartitionSchema.nullable().optional(),
    blocked: z
      .string()
      .nullable()
      .optional()
      .openapi({ description: 'Why the group stopped this partition (its stored offset does not fit the topic: recreated topic, another cluster, a restore, retention); null while it reads' }),
  })
  .openapi('PartitionLag');

const groupSchema = z
  .object({
    group: z.string(),
    kind: z.string().optional().openapi({ description: "'live', or 'rebuild' for a rebuild's catch-up group (`<group>.rebuild`), never alerted on" }),
    state: z.string(),
    members: z.number().int().optional(),
    maxLag: z.number(),
    maxLagSeconds: z.number(),
    sumLag: z.number(),
    offsetSource: z.enum(['postgres', 'kafka']).optional().openapi({ description: "Whose offsets every figure of the group comes from: 'postgres' (stored with the views: the truth) or 'kafka' (groups that store none)" }),
    status: statusSchema.nullable(),
    kafkaStatus: statusSchema.nullable().optional().openapi({ description: "Advisory, for a 'postgres' group: the status Kafka's committed offsets alone would give" }),
    topics: z.array(z.object({ topic: z.string(), sumLag: z.number(), partitions: z.array(partitionSchema) })),
  })
  .openapi('GroupLag');

export const lagSnapshotSchema = z
  .object({
    clusterName: z.string().optional(),
    polledAt: z.string().nullable().openapi({ description: 'ISO time of the poll; null before the first one' }),
    pollDurationMs: z.number().optional(),
    groups: z.array(groupSchema),
    views: z
      .array(
        z.object({
          view: z.string(),
          group: z.string().nullable(),
          lastSourceTime: z.string().nullable(),
          lastCommitTime: z.string().nullable(),
          freshnessSeconds: z.number().nullable(),
          canaryAgeSeconds: z.number().nullable().optional(),
        }),
      )
      .optional(),
    errors: z.array(z.string()).optional(),
  })
  .openapi('LagSnapshot');

/** What `deps.lag()` returns: the lag monitor's last snapshot (the monitor's LagSnapshot is assignable to it). */
export type LagSnapshot = z.infer<typeof lagSnapshotSchema>;
