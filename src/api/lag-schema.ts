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

const partitionSchema = z
  .object({
    partition: z.number().int(),
    logStartOffset: z.number().optional(),
    logEndOffset: z.number(),
    committedOffset: z.number().nullable(),
    lag: z.number().nullable(),
    lagSeconds: z.number().nullable(),
    lagSecondsMethod: z.string().nullable().optional(),
    status: z.string().nullable(),
    reason: z.string().nullable().optional(),
    /** Offsets the group stores in PostgreSQL with its view rows (exactly-once groups). */
    stored: storedPartitionSchema.nullable().optional(),
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
    status: statusSchema.nullable(),
    storedStatus: statusSchema.nullable().optional(),
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
