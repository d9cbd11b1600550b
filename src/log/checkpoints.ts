import type { LogClient } from './port.js';
import { PipelineError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { withInternalGroup } from './internal-groups.js';
import { readToTargets } from './read-to-targets.js';

/**
 * Shard checkpoints of the CDC bridge live in a compacted Kafka topic, keyed
 * `<table>/<shardId>`, so that in exactly-once mode a checkpoint commits in
 * the same Kafka transaction as the records it covers: after a crash the
 * last committed checkpoint is exactly the last relayed record.
 */
export interface Checkpoint {
  /** Last relayed stream sequence number of the shard (null: none yet). */
  sequenceNumber: string | null;
  shardEnded: boolean;
  updatedAt: number;
  /** Lease counter of the writer when it wrote this (0 without leases). */
  leaseEpoch: number;
  /** Set on the `<table>/$backfill` record once a snapshot has been relayed. */
  backfillCompletedAt?: number;
  /**
   * written_at (epoch ms) of the last record read up to this checkpoint, or
   * its stream creation time when it has none: where a gap repair starts
   * (less the connector's skew allowance) if this position is trimmed.
   */
  writtenAt?: number;
  /**
   * Read AT this stream sequence number next (not after it): set by a gap
   * repair or backfill to the first record the stream still held, which it
   * left to the stream. Cleared by the shard's first commit.
   */
  resumeAt?: string;
  /**
   * Persistence id → highest sequence number relayed, for events a repair or
   * backfill relayed that the stream may deliver again (the overlap window):
   * on `<table>/$seam/...` records, committed with the events they cover.
   */
  seam?: Record<string, number>;
  /** Progress of one backfill scan segment (`<table>/$backfill/<segment>`) or the plan of a run (`<table>/$backfill`). */
  backfill?: BackfillProgress;
}

/** Durable state of a first-start backfill, so that a killed one continues where it stopped. */
export interface BackfillProgress {
  /** The plan: items written up to this time are relayed by the scan, later ones by the stream. */
  to?: number;
  /** Events written from this time on go into the seam (the stream may hold them too). */
  seamFrom?: number;
  segments?: number;
  /** Where each shard's stream resumed when the plan was made: shard id → [sequence number, write time]. */
  heads?: Record<string, [string, number]>;
  /** Segment progress: the scan's LastEvaluatedKey as JSON (binary values as base64), absent at the start. */
  lastKey?: string;
  done?: boolean;
  /** Pages committed by the segment (numbers its seam records). */
  pages?: number;
  /** Items the segment has scanned so far. */
  items?: number;
}

export const BACKFILL_KEY = '$backfill';
/** Keys that are not shards start with this (`$backfill`, `$backfill/0`, `$seam/...`, `$repair`). */
export const SPECIAL_KEY_PREFIX = '$';

export function checkpointKey(table: string, shardId: string): string {
  return `${table}/${shardId}`;
}

export function encodeCheckpoint(c: Checkpoint): Buffer {
  return Buffer.from(JSON.stringify(c));
}

export function decodeCheckpoint(value: Buffer): Checkpoint {
  const raw = JSON.parse(value.toString('utf8')) as Partial<Checkpoint>;
  if (typeof raw.shardEnded !== 'boolean' || typeof raw.updatedAt !== 'number') {
    throw new PipelineError('BAD_CHECKPOINT', `checkpoint record is malformed: ${value.toString('utf8').slice(0, 200)}`);
  }
  return {
    sequenceNumber: typeof raw.sequenceNumber === 'string' ? raw.sequenceNumber : null,
    shardEnded: raw.shardEnded,
    updatedAt: raw.updatedAt,
    leaseEpoch: typeof raw.leaseEpoch === 'number' ? raw.leaseEpoch : 0,
    ...(typeof raw.backfillCompletedAt === 'number' ? { backfillCompletedAt: raw.backfillCompletedAt } : {}),
    ...(typeof raw.writtenAt === 'number' ? { writtenAt: raw.writtenAt } : {}),
    ...(typeof raw.resumeAt === 'string' ? { resumeAt: raw.resumeAt } : {}),
    ...(isSeam(raw.seam) ? { seam: raw.seam } : {}),
    ...(typeof raw.backfill === 'object' && raw.backfill !== null ? { backfill: raw.backfill } : {}),
  };
}

function isSeam(x: unknown): x is Record<string, number> {
  return typeof x === 'object' && x !== null && Object.values(x).every((v) => typeof v === 'number');
}

export interface CheckpointReader {
  /**
   * Every committed checkpoint of `table` (by shard id), read with
   * read_committed up to the end offsets taken when the read starts. A read
   * requested while another runs waits for a fresh one, so the result always
   * reflects transactions completed before the call (callers fence their
   * transactional producer first, which completes its predecessor's open
   * transaction).
   */
  read(table: string): Promise<Map<string, Checkpoint>>;
}

export function createCheckpointReader(options: { kafka: LogClient; topic: string; logger: Logger; timeoutMs?: number }): CheckpointReader {
  const { kafka, topic, logger, timeoutMs = 120_000 } = options;
  let running: Promise<Map<string, Checkpoint>> | undefined;
  // Every shard start reads the checkpoints: sweeping left-over groups once in a while is enough.
  let sweptAt = -Infinity;
  let queued: Promise<Map<string, Checkpoint>> | undefined;

  async function readAll(): Promise<Map<string, Checkpoint>> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      const targets = new Map(
        offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high) - 1n] as const),
      );
      if (targets.size === 0) return new Map();
      // One group per read, deleted afterwards (see withInternalGroup for why not group-less).
      const sweep = Date.now() - sweptAt >= 5 * 60_000;
      if (sweep) sweptAt = Date.now();
      return await withInternalGroup({ admin, purpose: 'checkpoint-reader', logger, sweep, use: (groupId) => readTo(groupId, targets) });
    } finally {
      await admin.disconnect();
    }
  }

  async function readTo(groupId: string, targets: ReadonlyMap<number, bigint>): Promise<Map<string, Checkpoint>> {
    const out = new Map<string, Checkpoint>();
    await readToTargets({
      kafka, topic, groupId, targets, timeoutMs, timeoutCode: 'CHECKPOINT_READ_TIMEOUT', logger,
      onRecords: (records) => {
        for (const message of records) {
          const key = message.key?.toString('utf8');
          if (!key || !message.value) {
            // A tombstone drops the key (compaction deletes it later).
            if (key) out.delete(key);
            continue;
          }
          try {
            out.set(key, decodeCheckpoint(message.value));
          } catch (err) {
            logger.warn({ err, key }, 'skipping malformed checkpoint record');
          }
        }
      },
    });
    return out;
  }

  function fresh(): Promise<Map<string, Checkpoint>> {
    if (!running) {
      running = readAll().finally(() => (running = undefined));
      return running;
    }
    // A read in progress may have taken its end offsets before the caller's
    // fencing: queue one more that starts after it.
    if (!queued) {
      queued = running
        .catch(() => undefined)
        .then(() => {
          queued = undefined;
          return fresh();
        });
    }
    return queued;
  }

  return {
    async read(table) {
      const all = await fresh();
      const prefix = `${table}/`;
      const mine = new Map<string, Checkpoint>();
      for (const [k, v] of all) if (k.startsWith(prefix)) mine.set(k.slice(prefix.length), v);
      return mine;
    },
  };
}
