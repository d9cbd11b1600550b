/**
 * TEST HARNESS: SDK objects of DynamoDB Streams back into the JSON 1.0 wire
 * form (binary as base64, dates as epoch seconds), so the harness can serve
 * the real records it read through the SDK.
 */
import { randomBytes } from 'node:crypto';
import type { AttributeValue, _Record } from '@aws-sdk/client-dynamodb-streams';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

export function toWire(v: AttributeValue): Record<string, unknown> {
  if (v.S !== undefined) return { S: v.S };
  if (v.N !== undefined) return { N: v.N };
  if (v.B !== undefined) return { B: b64(v.B) };
  if (v.SS !== undefined) return { SS: v.SS };
  if (v.NS !== undefined) return { NS: v.NS };
  if (v.BS !== undefined) return { BS: v.BS.map(b64) };
  if (v.M !== undefined) return { M: mapToWire(v.M) };
  if (v.L !== undefined) return { L: v.L.map(toWire) };
  if (v.NULL !== undefined) return { NULL: v.NULL };
  if (v.BOOL !== undefined) return { BOOL: v.BOOL };
  throw new Error(`unknown attribute value ${JSON.stringify(Object.keys(v))}`);
}

export function mapToWire(m: Record<string, AttributeValue>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, toWire(v)]));
}

export function recordToWire(r: _Record): Record<string, unknown> {
  const d = r.dynamodb ?? {};
  return {
    eventID: r.eventID,
    eventName: r.eventName,
    eventVersion: r.eventVersion,
    eventSource: r.eventSource,
    awsRegion: r.awsRegion,
    dynamodb: {
      ...(d.ApproximateCreationDateTime ? { ApproximateCreationDateTime: d.ApproximateCreationDateTime.getTime() / 1000 } : {}),
      ...(d.Keys ? { Keys: mapToWire(d.Keys) } : {}),
      ...(d.NewImage ? { NewImage: mapToWire(d.NewImage) } : {}),
      ...(d.OldImage ? { OldImage: mapToWire(d.OldImage) } : {}),
      SequenceNumber: d.SequenceNumber,
      SizeBytes: d.SizeBytes,
      StreamViewType: d.StreamViewType,
    },
    ...(r.userIdentity ? { userIdentity: r.userIdentity } : {}),
  };
}

/** An error answer of the harness: `type` becomes the `__type` the SDK turns into its exception class. */
export class HarnessError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a harness shard iterator encodes: stream ARN, shard, next record index, issue time. */
export interface Token {
  a: string;
  s: string;
  i: number;
  t: number;
}

export const token = (t: Token) => Buffer.from(JSON.stringify({ ...t, n: randomBytes(4).toString('hex') })).toString('base64url');

export function decodeToken(iterator: string): Token {
  try {
    return JSON.parse(Buffer.from(iterator, 'base64url').toString('utf8')) as Token;
  } catch {
    throw new HarnessError('ValidationException', 'malformed shard iterator');
  }
}
