import type { LogMessage } from '../log/port.js';
import type { EventSerde } from '../events/serde.js';
import { errorCode, errorMessage, isRetriable } from '../shared/errors.js';
import type { DeadLetter } from './dead-letter.js';
import type { ConsumedEvent } from './handler.js';

/** What the DLQ needs of a record, decoded or not. */
export interface RecordRef {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  raw: Buffer | null;
  headers: Record<string, string>;
}

export type Decoded<E> = { ok: true; event: ConsumedEvent<E> } | { ok: false; record: RecordRef; code: string; message: string };

/**
 * Decodes one Kafka record into the event a handler sees (upcast to the
 * latest version by the serde). Bytes that can never decode come back as a
 * failure to dead-letter; a registry that does not answer throws (retriable:
 * the batch is retried, nothing is dead-lettered for it).
 */
export async function decodeRecord<E>(serde: EventSerde<E>, topic: string, partition: number, msg: LogMessage): Promise<Decoded<E>> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.headers ?? {})) {
    if (v !== undefined) headers[k] = Array.isArray(v) ? String(v[0]) : String(v);
  }
  const record: RecordRef = { topic, partition, offset: Number(msg.offset), key: msg.key?.toString('utf8') ?? null, headers, raw: msg.value };
  if (!msg.value) return { ok: false, record, code: 'EMPTY_VALUE', message: 'record has no value (tombstone)' };
  try {
    const d = await serde.decode(msg.value);
    const written = headers.source_written_at ? Number(headers.source_written_at) : undefined;
    return {
      ok: true,
      event: {
        ...record,
        event: d.event,
        eventType: d.eventType,
        writerVersion: d.writerVersion,
        sourceWrittenAt: Number.isFinite(written) ? written : undefined,
        timestamp: Number(msg.timestamp),
      },
    };
  } catch (err) {
    if (isRetriable(err)) throw err;
    return { ok: false, record, code: errorCode(err), message: errorMessage(err) };
  }
}

/** The DLQ record of a record the group cannot process. */
export function deadLetterOf(r: RecordRef, code: string, message: string, attempts: number): DeadLetter {
  return { topic: r.topic, partition: r.partition, offset: r.offset, key: r.key, value: r.raw, headers: r.headers, code, message, attempts };
}
