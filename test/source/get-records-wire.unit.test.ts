import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetRecordsCommand } from '@aws-sdk/client-dynamodb-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoStreams } from '../../src/source/dynamodb.js';
import { createStreamReader } from '../../src/source/stream-reader.js';

// The wire-form fast path against the SDK's own deserialiser, over a local
// HTTP server answering in DynamoDB Streams' JSON 1.0 form: same records.
const b64 = (s: string) => Buffer.from(s).toString('base64');
const body = {
  Records: [
    {
      eventID: 'e1',
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'ddblocal',
      dynamodb: {
        ApproximateCreationDateTime: 1796040529.123,
        Keys: { pkey: { S: 'inventory-1' }, sequence_nr: { N: '1' } },
        NewImage: {
          pkey: { S: 'inventory-1' },
          sequence_nr: { N: '1' },
          payload: { B: b64('\u0002avro') },
          nested: { M: { bin: { B: b64('x') }, list: { L: [{ B: b64('y') }, { N: '2.5' }, { NULL: true }, { BOOL: false }] } } },
          sets: { M: { bs: { BS: [b64('a'), b64('b')] }, ss: { SS: ['p', 'q'] }, ns: { NS: ['1', '2'] } } },
        },
        SequenceNumber: '000000000000000000001',
        SizeBytes: 120,
        StreamViewType: 'NEW_IMAGE',
      },
    },
    { eventID: 'e2', eventName: 'REMOVE', dynamodb: { Keys: { pkey: { S: 'inventory-2' } }, SequenceNumber: '000000000000000000002' } },
  ],
  NextShardIterator: 'next-it',
};

let server: Server;
let endpoint: string;
let answer: { status: number; body: unknown; type?: string } = { status: 200, body };

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.0', ...(answer.type ? { 'x-amzn-errortype': answer.type } : {}) });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const streams = () => createDynamoStreams({ endpoint, region: 'us-east-1', accessKeyId: 'k', secretAccessKey: 's' });

describe('GetRecords from the wire form', () => {
  it('gives the records the SDK deserialiser gives: Binary as bytes at any depth, the creation time as a Date', async () => {
    answer = { status: 200, body };
    const sdk = await streams().send(new GetRecordsCommand({ ShardIterator: 'it' }));
    const fast = await createStreamReader({ streams: streams() }).getRecords('it', 1000);
    expect(fast.nextIterator).toBe('next-it');
    // Same values; the SDK's Uint8Array and our Buffer compare by bytes.
    const norm = (x: unknown): unknown =>
      x instanceof Uint8Array
        ? `bytes:${Buffer.from(x).toString('hex')}`
        : x instanceof Date
          ? x.getTime()
          : Array.isArray(x)
            ? x.map(norm)
            : x && typeof x === 'object'
              ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, norm(v)]))
              : x;
    expect(norm(fast.records)).toEqual(norm(sdk.Records));
    expect(fast.records[0]!.dynamodb!.ApproximateCreationDateTime).toEqual(sdk.Records![0]!.dynamodb!.ApproximateCreationDateTime);
    expect(Buffer.from(fast.records[0]!.dynamodb!.NewImage!.payload!.B!).toString()).toBe('\u0002avro');
  });

  it('leaves error answers to the SDK: an expired iterator is still the typed error', async () => {
    answer = { status: 400, body: { __type: 'com.amazonaws.dynamodb.v20120810#ExpiredIteratorException', message: 'expired' }, type: 'ExpiredIteratorException' };
    await expect(createStreamReader({ streams: streams() }).getRecords('it', 1000)).rejects.toMatchObject({ code: 'ITERATOR_EXPIRED' });
  });

  it('an empty page at the end of a closed shard has no next iterator', async () => {
    answer = { status: 200, body: { Records: [] } };
    const page = await createStreamReader({ streams: streams() }).getRecords('it', 1000);
    expect(page).toMatchObject({ records: [], nextIterator: undefined });
  });
});
