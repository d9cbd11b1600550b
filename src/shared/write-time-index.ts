/**
 * The write-time index of the reference journal layout (Pekko's DynamoDB
 * journal queries events "by slice and time" the same way): a global
 * secondary index whose partition key is a time bucket plus a slice of the
 * persistence id, and whose sort key is `written_at`. The journal writer
 * stamps the bucket attribute on every event; the bridge's gap repair queries
 * `bucket = b AND written_at BETWEEN from AND to` for each bucket and slice of
 * a missed window, so a repair reads what the window holds, not the table.
 *
 * Slices spread one bucket's writes over several index partitions (one
 * partition takes about 1,000 writes/s); buckets keep each query's partition
 * small. The writer and the repair must agree on both numbers: they are part
 * of the table's layout, named in the connector (`gapRepair.index`).
 */
export interface WriteTimeIndex {
  /** Name of the global secondary index. */
  name: string;
  /** The index's partition key attribute (String): `<bucket>#<slice>`. */
  bucketAttribute: string;
  /** Width of a bucket in ms. */
  bucketMs: number;
  /** Slices per bucket. */
  slices: number;
}

/** The reference journal's index (src/command/journal.ts creates it; connectors/journal.json names it). */
export const JOURNAL_WRITE_TIME_INDEX: WriteTimeIndex = {
  name: 'written_at-index',
  bucketAttribute: 'written_bucket',
  bucketMs: 3_600_000,
  slices: 4,
};

/** 32-bit FNV-1a: stable across processes and languages (a writer in another language can compute it). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function sliceOf(persistenceId: string, slices: number): number {
  return fnv1a(persistenceId) % slices;
}

/** The bucket attribute's value of an event written at `writtenAt` by `persistenceId`. */
export function writeTimeBucket(index: Pick<WriteTimeIndex, 'bucketMs' | 'slices'>, persistenceId: string, writtenAt: number): string {
  return `${Math.floor(writtenAt / index.bucketMs)}#${sliceOf(persistenceId, index.slices)}`;
}

/** Every bucket value a window [from, to] touches, bucket by bucket in time order, each with all its slices. */
export function bucketsOf(index: Pick<WriteTimeIndex, 'bucketMs' | 'slices'>, from: number, to: number): string[][] {
  const out: string[][] = [];
  for (let b = Math.floor(Math.max(0, from) / index.bucketMs); b <= Math.floor(to / index.bucketMs); b++) {
    out.push(Array.from({ length: index.slices }, (_, s) => `${b}#${s}`));
  }
  return out;
}
