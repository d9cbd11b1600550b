import { createHash } from 'node:crypto';
import { PipelineError } from '../shared/errors.js';

/**
 * A record as the Kafka client hands it over (kafkajs' KafkaMessage and the
 * records a raw Fetch returns have this shape).
 */
export interface WitnessSource {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

/**
 * What a stored offset was written after: the last record the group applied
 * before it. Kept with the offset (migrations/0005_offset_witness.sql) so that
 * a consumer can tell, before reading on from a stored offset, whether the
 * topic it reads is the one the offset was stored for.
 */
export interface OffsetWitness {
  offset: number;
  key: string | null;
  /** The `sequence_nr` header, when the record has one (every record the bridge relays does). */
  sequenceNr: number | null;
  /** sha-256 (hex, 32 characters) over the key, value, headers and timestamp. */
  digest: string;
}

const field = (h: ReturnType<typeof createHash>, b: Buffer | string | null) => {
  if (b === null) {
    h.update('-1;');
    return;
  }
  const buf = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  h.update(`${buf.length};`);
  h.update(buf);
};

/**
 * The witness of one record. The digest covers the relay time header and the
 * record timestamp, so the same event relayed again into a recreated topic
 * (same key, same sequence number, same value) still differs; a copy that
 * keeps every byte and the offsets (an offset-preserving mirror) matches,
 * which is right: the stored offsets are still true there.
 */
export function witnessOf(r: WitnessSource): OffsetWitness {
  const h = createHash('sha256');
  field(h, r.key);
  field(h, r.value);
  field(h, r.timestamp);
  const headers = Object.entries(r.headers ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, v] of headers) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) {
      field(h, name);
      field(h, one);
    }
  }
  const seq = headerText(r.headers?.sequence_nr);
  const sequenceNr = seq !== undefined && /^\d+$/.test(seq) ? Number(seq) : null;
  return { offset: Number(r.offset), key: r.key?.toString('utf8') ?? null, sequenceNr, digest: h.digest('hex').slice(0, 32) };
}

function headerText(v: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? undefined : one.toString();
}

/** `inventory-W1-000052 seq 4 at offset 403` — how a witness reads in a log line. */
export function describeWitness(w: Pick<OffsetWitness, 'offset' | 'key' | 'sequenceNr'>): string {
  return `${w.key ?? '(no key)'}${w.sequenceNr === null ? '' : ` seq ${w.sequenceNr}`} at offset ${w.offset}`;
}

/**
 * Where a stored offset stands against the topic it is about to be read from.
 * A pure decision, so every reason to stop a partition is written once.
 */
export type PositionVerdict =
  | { ok: true; verified: boolean }
  | { ok: false; kind: BlockKind; reason: string };

export type BlockKind = 'topic-recreated' | 'below-log-start' | 'beyond-log-end' | 'other-record';

export interface PositionFacts {
  topic: string;
  partition: number;
  nextOffset: number;
  witness: OffsetWitness | null;
  /** The topic ID the offset was stored for, and the topic's ID now (null: unknown, undefined: not read). */
  storedTopicId?: string | null | undefined;
  topicId?: string | null | undefined;
  logStart: number;
  logEnd: number;
  /** The first committed data record at or after the witness's offset, as the topic holds it now (undefined: not read). */
  atWitness?: OffsetWitness | null;
}

const CAUSES = 'the topic was deleted and created again, the pipeline moved to another cluster, or the database was restored from elsewhere';

/**
 * Whether a group may read on from its stored offset. It may not when:
 * - the topic's ID is not the one the offset was stored for (KIP-516: the
 *   topic was created again, or this is another cluster), unless the
 *   witnessed record is still at its offset (a copy that kept the offsets);
 * - the offset lies below the log start (retention deleted records the group
 *   never applied);
 * - the offset lies beyond the log end (the topic is not the one the offset
 *   was stored for; Kafka clients would reset it silently);
 * - the record at the witness's offset is not the witnessed record.
 * A witness already deleted by retention cannot be checked: the offset is
 * accepted when it lies within the log (`verified: false`).
 */
export function judgePosition(f: PositionFacts): PositionVerdict {
  const at = `${f.topic}/${f.partition}`;
  const sameRecord = !!f.witness && !!f.atWitness && f.atWitness.offset === f.witness.offset && f.atWitness.digest === f.witness.digest;
  if (f.storedTopicId && f.topicId && f.storedTopicId !== f.topicId && !sameRecord) {
    return {
      ok: false,
      kind: 'topic-recreated',
      reason:
        `${at}: the stored offset ${f.nextOffset}${f.witness ? ` (after ${describeWitness(f.witness)})` : ''} was stored for topic ID ${f.storedTopicId}, ` +
        `and the topic now has ID ${f.topicId}; likely ${CAUSES}`,
    };
  }
  if (f.nextOffset < f.logStart) {
    return {
      ok: false,
      kind: 'below-log-start',
      reason: `${at}: records ${f.nextOffset}..${f.logStart - 1} were deleted from the topic before this group applied them (stored offset ${f.nextOffset}, log start ${f.logStart})`,
    };
  }
  if (f.nextOffset > f.logEnd) {
    return {
      ok: false,
      kind: 'beyond-log-end',
      reason:
        `${at}: the stored offset ${f.nextOffset}${f.witness ? ` (after ${describeWitness(f.witness)})` : ''} lies beyond the topic's log end ${f.logEnd}; ` +
        `likely ${CAUSES}`,
    };
  }
  if (!f.witness || f.witness.offset < f.logStart || f.atWitness === undefined) return { ok: true, verified: false };
  const now = f.atWitness;
  if (sameRecord) return { ok: true, verified: true };
  const found =
    now === null
      ? 'no committed record there'
      : now.offset !== f.witness.offset
        ? `no committed record there (the next one is ${describeWitness(now)})`
        : `${describeWitness(now)}${now.key === f.witness.key && now.sequenceNr === f.witness.sequenceNr ? ' with other bytes (relayed again)' : ''}`;
  return {
    ok: false,
    kind: 'other-record',
    reason:
      `${at}: the group applied ${describeWitness(f.witness)} before its stored offset ${f.nextOffset}, but the topic now holds ${found}; ` +
      `likely ${CAUSES}`,
  };
}

/** The remedy named with every block (docs/operating/offsets.md, "A partition is blocked"). */
export function remedyFor(group: string, topic: string, kind: BlockKind): string {
  if (kind === 'below-log-start') return `rebuild the views from the journal: npm run cli -- rebuild <consumer>`;
  return (
    `stop the group, then move its offsets on purpose: npm run cli -- offsets reset --group ${group} --topic ${topic} --to earliest ` +
    `(re-reads the topic; events already applied are skipped by sequence number), or rebuild from the journal: npm run cli -- rebuild <consumer>`
  );
}

/**
 * Thrown inside a batch's transaction when the batch shows that the stored
 * offset belongs to another topic incarnation (the witnessed record is not
 * where it was). Not retriable and not the event's fault: the runner stops
 * the partition instead of following the recovery policy.
 */
export class PartitionBlockedError extends PipelineError {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly kind: BlockKind,
    readonly reason: string,
  ) {
    super('PARTITION_BLOCKED', reason, { retriable: false });
  }
}
