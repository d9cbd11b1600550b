import { checkpointKey, encodeCheckpoint, SPECIAL_KEY_PREFIX, type Checkpoint } from '../log/checkpoints.js';
import type { OutgoingMessage } from '../log/relay-producer.js';

/**
 * The seam between a table read (gap repair, first-start backfill) and the
 * stream that resumes after it. Events written around the stream's resume
 * point can be both in the table read and in the stream; the table read
 * records, for each persistence id it relayed there, the highest sequence
 * number it relayed (a high-water mark), and every shard worker skips stream
 * records at or below it. The marks are `<table>/$seam/<run>/<n>` records in
 * the checkpoint topic, committed in the same Kafka transaction as the events
 * they cover, so a crash can never leave an event relayed without its mark
 * or a mark without its event.
 *
 * Skipping at or below a mark is right for any stream record at any time:
 * a key's events are relayed in sequence order without holes, so a mark n
 * means 1..n are in the topic. Marks are therefore never retracted; they are
 * few (the events written within the skew allowance of a resume point).
 */
export const SEAM_PREFIX = `${SPECIAL_KEY_PREFIX}seam/`;

/** Entries per seam record: well under the broker's 1 MiB message limit with long ids. */
const SEAM_CHUNK = 5_000;

export type Seam = ReadonlyMap<string, number>;

/** The union (highest per key) of every seam record among a table's checkpoints. */
export function seamOf(checkpoints: ReadonlyMap<string, Checkpoint>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, c] of checkpoints) {
    if (!key.startsWith(SEAM_PREFIX) || !c.seam) continue;
    for (const id in c.seam) {
      const n = c.seam[id]!;
      if (n > (out.get(id) ?? 0)) out.set(id, n);
    }
  }
  return out;
}

/** True when the stream record (persistence id, sequence number) was relayed by a table read already. */
export function alreadyRelayed(seam: Seam, persistenceId: string, sequenceNr: number): boolean {
  const mark = seam.get(persistenceId);
  return mark !== undefined && sequenceNr <= mark;
}

/**
 * The checkpoint-topic records that make `entries` durable, numbered from
 * `first` under `<table>/$seam/<run>/`; returns them and the next number.
 * They go into the transaction of the events they cover.
 */
export function seamRecords(o: { table: string; checkpointTopic: string; run: string; first: number; entries: ReadonlyMap<string, number> }): { messages: OutgoingMessage[]; next: number } {
  const all = [...o.entries];
  const messages: OutgoingMessage[] = [];
  let n = o.first;
  for (let i = 0; i < all.length; i += SEAM_CHUNK) {
    const checkpoint: Checkpoint = { sequenceNumber: null, shardEnded: false, updatedAt: Date.now(), leaseEpoch: 0, seam: Object.fromEntries(all.slice(i, i + SEAM_CHUNK)) };
    messages.push({ topic: o.checkpointTopic, key: checkpointKey(o.table, `${SEAM_PREFIX}${o.run}/${n++}`), value: encodeCheckpoint(checkpoint), headers: {} });
  }
  return { messages, next: n };
}

/** A checkpoint record of another key, as a message of a transaction (the sink's own checkpoint is its commit argument). */
export function checkpointRecord(table: string, checkpointTopic: string, key: string, checkpoint: Checkpoint): OutgoingMessage {
  return { topic: checkpointTopic, key: checkpointKey(table, key), value: encodeCheckpoint(checkpoint), headers: {} };
}
