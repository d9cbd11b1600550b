import { createHash } from 'node:crypto';
import { ValidationError } from '../shared/errors.js';

/**
 * DynamoDB attribute values as both SDK clients (tables and streams) shape
 * them; the two packages declare separate but identical types.
 */
export interface AttrValue {
  S?: string;
  N?: string;
  B?: Uint8Array;
  BOOL?: boolean;
  NULL?: boolean;
  M?: Record<string, AttrValue>;
  L?: AttrValue[];
  SS?: string[];
  NS?: string[];
  BS?: Uint8Array[];
}
export type Item = Record<string, AttrValue>;

/** Thrown for an item that cannot be mapped; its `code` names the reason in DLQ headers. */
export class UnmappableRecordError extends ValidationError {
  constructor(code: string, message: string) {
    super(message, { code });
  }
}

export function stringAttr(item: Item, name: string): string {
  const v = item[name];
  if (v?.S !== undefined) return v.S;
  if (v?.N !== undefined) return v.N;
  throw new UnmappableRecordError('MISSING_ATTRIBUTE', `attribute ${name} is missing or not a string`);
}

export function optionalString(item: Item, name: string | undefined): string | undefined {
  if (!name) return undefined;
  const v = item[name];
  if (v === undefined || v.NULL) return undefined;
  return stringAttr(item, name);
}

export function integerAttr(item: Item, name: string): number {
  const v = item[name];
  const raw = v?.N ?? v?.S;
  const n = raw === undefined ? NaN : Number(raw);
  if (!Number.isSafeInteger(n)) {
    throw new UnmappableRecordError('BAD_NUMBER', `attribute ${name} is missing or not an integer (${raw ?? 'absent'})`);
  }
  return n;
}

/** Epoch ms from a Number attribute (ms) or an ISO-8601 / numeric String attribute. */
export function timestampAttr(item: Item, name: string | undefined): number | undefined {
  if (!name) return undefined;
  const v = item[name];
  if (v === undefined || v.NULL) return undefined;
  const raw = v.N ?? v.S;
  if (raw === undefined) throw new UnmappableRecordError('BAD_TIMESTAMP', `attribute ${name} is not a timestamp`);
  const t = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(t)) throw new UnmappableRecordError('BAD_TIMESTAMP', `attribute ${name}=${raw} is not a timestamp`);
  return Math.trunc(t);
}

export function binaryAttr(item: Item, name: string): Buffer {
  const v = item[name];
  // A view, not a copy: the stream reader's bytes are not reused (the payload is passed through).
  if (v?.B !== undefined) return Buffer.isBuffer(v.B) ? v.B : Buffer.from(v.B.buffer, v.B.byteOffset, v.B.byteLength);
  throw new UnmappableRecordError('BAD_PAYLOAD', `attribute ${name} is missing or not Binary`);
}

/** A JSON payload stored as a Map (native) or as a String holding JSON text. */
export function jsonAttr(item: Item, name: string): Record<string, unknown> {
  const v = item[name];
  let out: unknown;
  if (v?.M !== undefined) out = toPlain(v);
  else if (v?.S !== undefined) {
    try {
      out = JSON.parse(v.S);
    } catch (err) {
      throw new UnmappableRecordError('BAD_JSON', `attribute ${name} is not JSON: ${(err as Error).message}`);
    }
  } else throw new UnmappableRecordError('BAD_PAYLOAD', `attribute ${name} is missing or neither a Map nor a String`);
  if (typeof out !== 'object' || out === null || Array.isArray(out)) {
    throw new UnmappableRecordError('BAD_JSON', `attribute ${name} is not a JSON object`);
  }
  return out as Record<string, unknown>;
}

/** DynamoDB JSON → plain JS (numbers as JS numbers; payload numbers are ints and doubles of Avro). */
export function toPlain(v: AttrValue): unknown {
  if (v.S !== undefined) return v.S;
  if (v.N !== undefined) return Number(v.N);
  if (v.BOOL !== undefined) return v.BOOL;
  if (v.NULL) return null;
  if (v.B !== undefined) return Buffer.from(v.B);
  if (v.M !== undefined) return Object.fromEntries(Object.entries(v.M).map(([k, x]) => [k, toPlain(x)]));
  if (v.L !== undefined) return v.L.map(toPlain);
  if (v.SS !== undefined) return [...v.SS];
  if (v.NS !== undefined) return v.NS.map(Number);
  if (v.BS !== undefined) return v.BS.map((b) => Buffer.from(b));
  return null;
}

/** Item as printable JSON for a DLQ record (binary as base64, so it can be replayed). */
export function itemToJson(item: Item | undefined): string {
  return JSON.stringify(item ?? null, (_k, value: unknown) =>
    value instanceof Uint8Array ? { $base64: Buffer.from(value).toString('base64') } : value,
  );
}

/**
 * A stable event id for layouts that store none: the same journal position
 * always gets the same UUID (name-based, RFC 4122 v5 layout over SHA-1), so a
 * re-relayed duplicate carries the id of the original.
 */
export function derivedEventId(persistenceId: string, sequenceNr: number): string {
  const h = createHash('sha1').update(`${persistenceId}\u0000${sequenceNr}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
