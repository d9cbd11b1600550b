import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/**
 * scripts/patch-kafkajs.mjs (postinstall) rewrites kafkajs 2.2.4's Encoder
 * and record encoder for speed: pooled buffers instead of zero-filled ones,
 * varints written in place, a record and its headers in one buffer. These
 * tests hold it to its promise that the bytes on the wire do not change:
 * a fixed produce request hashes to what unpatched kafkajs 2.2.4 produced,
 * and random records read back through kafkajs' own (unpatched) decoder.
 */
const require = createRequire(import.meta.url);
type Headers = Record<string, string | Buffer | (string | Buffer)[]>;
interface Msg {
  key: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Headers;
  timestamp?: string;
}
interface EncoderLike {
  buffer: Buffer;
}
const Produce = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (args: {
  acks: number;
  timeout: number;
  transactionalId: string | null;
  producerEpoch: number;
  topicData: { topic: string; partitions: { partition: number; firstSequence: number; messages: Msg[] }[] }[];
}) => { encode: () => Promise<EncoderLike> };
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (args: Msg & { offsetDelta: number; timestampDelta: number }) => EncoderLike;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (args: { records: EncoderLike[]; firstTimestamp: number; maxTimestamp: number; lastOffsetDelta: number }) => Promise<EncoderLike>;
};
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: unknown) => Promise<{
  records: { key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | Buffer[]> }[];
}>;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => unknown;
const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => EncoderLike & { writeVarInt(v: number): EncoderLike; writeUVarInt(v: number): EncoderLike };

/** The bridge's envelope headers, as src/source/mapping.ts sets them. */
const envelope = (i: number): Headers => ({
  event_type: 'StockReceived',
  schema_id: '17',
  schema_version: '2',
  persistence_id: `inventory-${i % 500}`,
  sequence_nr: String(i),
  event_id: '5f0c2d3a-1b2c-4d5e-8f90-123456789abc',
  written_at: '2026-11-30T14:00:00.000Z',
  source_table: 'journal',
  source_shard: 'shardId-00000001700000000000-abcdef12',
  source_sequence: `4900000000000000000000${i}`,
  correlation_id: 'c0ffee00-1111-2222-3333-444455556666',
});

/** A produce request over every size class the encoder grows through, with fixed timestamps. */
function fixedRequest() {
  const sizes = [0, 1, 63, 64, 350, 511, 512, 513, 8191, 8192, 70_000];
  const partitions = [0, 1, 2].map((p) => ({ partition: p, firstSequence: 0, messages: [] as Msg[] }));
  for (let i = 0; i < 300; i++) {
    const value = Buffer.alloc(sizes[i % sizes.length]!, i & 0xff);
    const msg: Msg = { key: i % 17 === 0 ? null : `inventory-${i % 500}`, value, headers: envelope(i), timestamp: String(1_700_000_000_000 + i) };
    if (i % 13 === 0) msg.headers = { ...msg.headers, 'ünïcödé-キー': 'värde-値', repeated: ['a', Buffer.from([0, 255])] };
    if (i % 29 === 0) msg.headers = {};
    partitions[i % 3]!.messages.push(msg);
  }
  return Produce({ acks: -1, timeout: 30_000, transactionalId: 'cdc-journal-shard-1', producerEpoch: 3, topicData: [{ topic: 'inventory.events', partitions }] });
}

describe('kafkajs produce encoding (patched for speed)', () => {
  it('is applied', () => {
    for (const f of ['src/protocol/encoder.js', 'src/protocol/recordBatch/record/v0/index.js']) {
      expect(require('node:fs').readFileSync(require.resolve(`kafkajs/${f}`), 'utf8')).toContain('patched by scripts/patch-kafkajs.mjs');
    }
  });

  it('encodes a produce request to the same bytes as unpatched kafkajs 2.2.4', async () => {
    const bytes = (await fixedRequest().encode()).buffer;
    // Recorded with the kafkajs-2.2.4 tarball from npm, unpatched, on this same input.
    expect({ length: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }).toEqual(EXPECTED);
  });

  it('writes varints as zig-zag LEB128 at every length boundary', () => {
    const leb128 = (v: number) => {
      let z = ((v << 1) ^ (v >> 31)) >>> 0;
      const out: number[] = [];
      while (z >= 0x80) {
        out.push((z & 0x7f) | 0x80);
        z >>>= 7;
      }
      out.push(z);
      return Buffer.from(out);
    };
    for (const v of [0, -1, 1, 63, -64, 64, 8191, -8192, 8192, 1_048_575, 1_048_576, 2 ** 27, 2 ** 30 - 1, -(2 ** 31), 2 ** 31 - 1]) {
      expect(new Encoder().writeVarInt(v).buffer, String(v)).toEqual(leb128(v));
    }
  });

  it('reads back through kafkajs’ own decoder: any keys, values and headers', async () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 40 });
    const bytes = fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a));
    const message = fc.record({
      key: fc.option(fc.oneof(text, bytes), { nil: null }),
      value: fc.option(fc.oneof(text, bytes), { nil: null }),
      // Prefixed: kafkajs' decoder collects headers in a plain object, so a key such as `toString` reads as repeated.
      headers: fc.dictionary(text.map((k) => `h-${k}`), fc.oneof(text, bytes, fc.array(text, { minLength: 1, maxLength: 3 })), { maxKeys: 14 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 20 }), async (messages) => {
        const records = messages.map((m, i) => Record({ ...m, offsetDelta: i, timestampDelta: i }));
        const batch = await RecordBatch({ records, firstTimestamp: 1_700_000_000_000, maxTimestamp: 1_700_000_000_000 + messages.length, lastOffsetDelta: messages.length - 1 });
        const decoded = await decodeBatch(new Decoder(batch.buffer));
        const asBuffer = (v: string | Buffer | null) => (v === null ? null : Buffer.isBuffer(v) ? v : Buffer.from(v));
        expect(decoded.records.map((r) => [r.key, r.value, r.headers])).toEqual(
          messages.map((m) => [
            asBuffer(m.key),
            asBuffer(m.value),
            // A repeated header reads back as an array, a header sent once as its value.
            Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, !Array.isArray(v) ? asBuffer(v) : v.length === 1 ? asBuffer(v[0]!) : v.map(asBuffer)])),
          ]),
        );
      }),
      { numRuns: 200 },
    );
  });
});

const EXPECTED = { length: 2_495_173, sha256: '7a490e816ef414d17b73e43417df2704eb9d14053e052f7286e14cd36f395f06' };
