import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import { messageBytes, type OutgoingMessage } from '../log/relay-producer.js';
import type { Item } from './attributes.js';
import type { RecordMapper } from './mapping.js';
import { alreadyRelayed, type Seam } from './seam.js';
import { emptyCounts, RecordMappingError, type PageTiming, type RelayCounts } from './shard-state.js';

/** One GetRecords page mapped: what goes into the shard's next transaction. */
export interface MappedPage {
  /** Events, removals and dead letters, in stream order. */
  out: OutgoingMessage[];
  /** Stream records read (filtered ones included): the checkpoint moves past all of them. */
  records: number;
  bytes: number;
  counts: RelayCounts;
  /** The write time of the last record that has one (its written_at, else its stream creation time). */
  writtenAt: number | undefined;
  /** For the stage latencies (undefined for a page that was not read, a closed shard's end). */
  timing: PageTiming | undefined;
}

/** A page without records (a closed shard's end). */
export function noRecords(): MappedPage {
  return { out: [], records: 0, bytes: 0, counts: emptyCounts(), writtenAt: undefined, timing: undefined };
}

/**
 * Maps a page of stream records, in order. Records the mapper rejects as data
 * errors come back as dead letters; a record the seam marks as relayed
 * already (by a gap repair or backfill) is skipped as ALREADY_RELAYED; any
 * throw names its record ({@link RecordMappingError}) and maps nothing.
 */
export async function mapPage(
  records: readonly _Record[],
  context: { mapper: RecordMapper; table: string; shardId: string; seam: Seam; readAt: number },
): Promise<MappedPage> {
  const { mapper, table, shardId, seam } = context;
  const timing: PageTiming = { readAt: context.readAt, messages: 0, writtenAts: [] };
  const page: MappedPage = { ...noRecords(), records: records.length, timing };
  const { counts } = page;
  for (const r of records) {
    const created = r.dynamodb?.ApproximateCreationDateTime;
    const sequenceNumber = r.dynamodb?.SequenceNumber ?? '';
    const image = r.dynamodb?.NewImage as Item | undefined;
    page.writtenAt = mapper.writtenAtOf(image) ?? (created ? new Date(created).getTime() : page.writtenAt);
    let result;
    try {
      result = await mapper.map(image, {
        table,
        shardId,
        sequenceNumber,
        eventName: r.eventName ?? '',
        ...(created ? { approximateCreatedAt: new Date(created).getTime() } : {}),
        ...(r.dynamodb?.Keys ? { keys: r.dynamodb.Keys as Item } : {}),
        ...(r.userIdentity ? { userIdentity: r.userIdentity } : {}),
      });
    } catch (err) {
      throw new RecordMappingError(sequenceNumber, err);
    }
    if (result.kind === 'relay' && alreadyRelayed(seam, result.persistenceId, result.sequenceNr)) {
      counts.filtered.push('ALREADY_RELAYED');
      continue;
    }
    if (result.kind === 'filtered') {
      counts.filtered.push(result.reason);
      continue;
    }
    page.out.push(result.message);
    page.bytes += messageBytes(result.message);
    if (result.kind === 'dead-letter') {
      counts.deadLettered.push({ code: result.code, reason: result.reason, sequenceNumber });
    } else {
      counts.relayed++;
      if (result.kind === 'relay' && result.writtenAt !== undefined) {
        counts.lastWrittenAt = result.writtenAt;
        timing.writtenAts.push(result.writtenAt);
      }
    }
  }
  timing.messages = page.out.length;
  return page;
}
