import type { AttributeValue, GetRecordsCommand, GetRecordsCommandInput, GetRecordsCommandOutput, _Record } from '@aws-sdk/client-dynamodb-streams';
import type { DeserializeMiddleware } from '@smithy/types';

/**
 * GetRecords answers read straight from their JSON 1.0 wire form.
 *
 * The SDK's schema-driven deserialiser walks every attribute of every image
 * through its generic struct/union readers; for a full page that is the
 * largest share of the bridge's CPU after the Kafka encoding. The wire form
 * already has the SDK's shape but for two types, so a successful answer is
 * parsed with JSON.parse and only those are converted: Binary values (base64
 * → Buffer, at any depth of an image) and ApproximateCreationDateTime (epoch
 * seconds → Date). Everything else the SDK does stays: signing, retries,
 * endpoint resolution and typed errors (any answer other than a plain 200 is
 * left to the SDK's deserialiser untouched).
 */

interface WireRecord {
  eventID?: string;
  eventName?: string;
  eventVersion?: string;
  eventSource?: string;
  awsRegion?: string;
  dynamodb?: {
    ApproximateCreationDateTime?: number;
    Keys?: Record<string, WireValue>;
    NewImage?: Record<string, WireValue>;
    OldImage?: Record<string, WireValue>;
    SequenceNumber?: string;
    SizeBytes?: number;
    StreamViewType?: string;
  };
  userIdentity?: { PrincipalId?: string; Type?: string };
}
type WireValue = Record<string, unknown>;

export interface WireGetRecords {
  Records?: WireRecord[];
  NextShardIterator?: string | null;
}

/** The answer of a GetRecords wire body in the SDK's output shape (pure; unit-tested against the SDK's own deserialiser). */
export function recordsFromWire(body: WireGetRecords): { records: _Record[]; nextIterator: string | undefined } {
  const records = (body.Records ?? []).map((r) => {
    const d = r.dynamodb;
    if (d) {
      const out = d as unknown as NonNullable<_Record['dynamodb']>;
      if (typeof d.ApproximateCreationDateTime === 'number') out.ApproximateCreationDateTime = new Date(Math.round(d.ApproximateCreationDateTime * 1000));
      if (d.Keys) out.Keys = imageFromWire(d.Keys);
      if (d.NewImage) out.NewImage = imageFromWire(d.NewImage);
      if (d.OldImage) out.OldImage = imageFromWire(d.OldImage);
    }
    return r as _Record;
  });
  return { records, nextIterator: body.NextShardIterator ?? undefined };
}

/** Converts an image in place: base64 Binary values become Buffers, at any depth. */
function imageFromWire(image: Record<string, WireValue>): Record<string, AttributeValue> {
  for (const k in image) valueFromWire(image[k]!);
  return image as unknown as Record<string, AttributeValue>;
}

function valueFromWire(v: WireValue): void {
  if (typeof v.B === 'string') v.B = Buffer.from(v.B, 'base64');
  else if (Array.isArray(v.BS)) v.BS = (v.BS as string[]).map((b) => Buffer.from(b, 'base64'));
  else if (v.M !== undefined) imageFromWire(v.M as Record<string, WireValue>);
  else if (Array.isArray(v.L)) for (const x of v.L as WireValue[]) valueFromWire(x);
}

/**
 * Makes `command` hand its 200 answer's parsed JSON to `onWire` and give the
 * SDK's deserialiser an empty object instead (so the command's own output
 * has no Records); other answers pass through untouched. Returns the
 * command.
 */
export function readWireBody(command: GetRecordsCommand, onWire: (body: WireGetRecords) => void): GetRecordsCommand {
  const middleware: DeserializeMiddleware<GetRecordsCommandInput, GetRecordsCommandOutput> =
    (next) => async (args) => {
      const result = await next(args);
      const response = result.response as { statusCode?: number; headers?: Record<string, string>; body?: unknown };
      const encoding = response.headers?.['content-encoding'];
      if (response.statusCode === 200 && (!encoding || encoding === 'identity') && isAsyncIterable(response.body)) {
        const chunks: Buffer[] = [];
        for await (const c of response.body) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
        onWire(JSON.parse(Buffer.concat(chunks).toString('utf8')) as WireGetRecords);
        response.body = EMPTY_OBJECT;
      }
      return result;
    };
  command.middlewareStack.addRelativeTo(middleware, { relation: 'after', toMiddleware: 'deserializerMiddleware', name: 'cdcBridgeWireBody', override: true });
  return command;
}

const EMPTY_OBJECT = new TextEncoder().encode('{}');

function isAsyncIterable(x: unknown): x is AsyncIterable<unknown> {
  return typeof x === 'object' && x !== null && Symbol.asyncIterator in x;
}
