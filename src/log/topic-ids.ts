import { createRequire } from 'node:module';
import { PipelineError } from '../shared/errors.js';
import type { LogClient } from './port.js';
import { rawClusterOf } from './record-fetcher.js';

/**
 * Kafka topic IDs (KIP-516): the UUID a broker gives a topic when it is
 * created. A topic deleted and created again under the same name, or the
 * same name on another cluster, has another ID — the one fact that tells a
 * consumer its stored offsets name other records. kafkajs 2.2.4 speaks
 * Metadata up to v6, which has no IDs, and a running kafkajs consumer goes
 * on fetching from its old position in a recreated topic without noticing
 * (test/log/topic-ids.int.test.ts shows it); so this module sends one
 * Metadata v10 request itself, over the client's own authenticated
 * connection, and decodes only what it needs.
 *
 * The request is flexible (KIP-482): kafkajs writes request header v1, and
 * the empty tagged-field section that turns it into header v2 is written as
 * the first byte of the body; the response's header tagged fields are the
 * first bytes of the payload kafkajs hands back.
 */
export interface TopicIdReader {
  /**
   * The ID of each topic that exists (absent: no such topic). Null when the
   * cluster gives none (a broker before Kafka 2.8, or a Kafka-compatible one
   * that answers the zero UUID): callers then rely on the offset witness alone.
   */
  read(topics: readonly string[]): Promise<Map<string, string | null>>;
  close(): Promise<void>;
}

const METADATA = 3;
const METADATA_VERSION = 10;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const UNKNOWN_TOPIC_OR_PARTITION = 3;

interface KafkajsEncoder {
  writeBuffer(b: Buffer): KafkajsEncoder;
}
interface SendingBroker {
  versions?: Record<string, { minVersion: number; maxVersion: number }> | null;
  connectionPool: {
    send(request: {
      request: { apiKey: number; apiVersion: number; apiName: string; encode(): Promise<KafkajsEncoder> };
      response: { decode(payload: Buffer): Promise<Buffer>; parse(payload: Buffer): Promise<unknown> };
    }): Promise<unknown>;
  };
}
interface IdCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  findControllerBroker(): Promise<unknown>;
  refreshMetadata(): Promise<void>;
}

const Encoder = (() => {
  try {
    const e: unknown = createRequire(import.meta.url)('kafkajs/src/protocol/encoder.js');
    return typeof e === 'function' ? (e as new () => KafkajsEncoder) : undefined;
  } catch {
    return undefined;
  }
})();

const uvarint = (n: number): Buffer => {
  const out: number[] = [];
  let v = n >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
};

/** Metadata v10 request body for `topics` (with the header's empty tagged fields in front). */
export function encodeMetadataV10(topics: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0]), uvarint(topics.length + 1)];
  for (const t of topics) {
    const name = Buffer.from(t, 'utf8');
    parts.push(Buffer.alloc(16), uvarint(name.length + 1), name, Buffer.from([0]));
  }
  // allow_auto_topic_creation, include_cluster_authorized_operations, include_topic_authorized_operations, tagged fields
  parts.push(Buffer.from([0, 0, 0, 0]));
  return Buffer.concat(parts);
}

/** A bounds-checked reader over a flexible-version response. */
function reader(buf: Buffer) {
  let at = 0;
  const need = (n: number) => {
    if (at + n > buf.length) throw new PipelineError('KAFKA_PROTOCOL', `Metadata v${METADATA_VERSION} response ends early (${buf.length} bytes)`);
  };
  const r = {
    int16: () => (need(2), (at += 2), buf.readInt16BE(at - 2)),
    int32: () => (need(4), (at += 4), buf.readInt32BE(at - 4)),
    bool: () => (need(1), (at += 1), buf[at - 1] !== 0),
    uvarint: () => {
      let v = 0;
      for (let shift = 0; ; shift += 7) {
        need(1);
        const b = buf[at++]!;
        v += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) return v;
        if (shift > 28) throw new PipelineError('KAFKA_PROTOCOL', 'varint too long');
      }
    },
    compactString: (): string | null => {
      const n = r.uvarint();
      if (n === 0) return null;
      need(n - 1);
      at += n - 1;
      return buf.toString('utf8', at - (n - 1), at);
    },
    uuid: () => {
      need(16);
      at += 16;
      const h = buf.toString('hex', at - 16, at);
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    },
    array: <T>(item: () => T): T[] => {
      const n = r.uvarint();
      return n === 0 ? [] : Array.from({ length: n - 1 }, item);
    },
    skipTags: () => {
      for (let n = r.uvarint(); n > 0; n--) {
        r.uvarint();
        const size = r.uvarint();
        need(size);
        at += size;
      }
    },
  };
  return r;
}

/** The topics of a Metadata v10 response payload (after the correlation id): name, error code, topic ID. */
export function decodeMetadataV10(payload: Buffer): { name: string | null; errorCode: number; topicId: string }[] {
  const r = reader(payload);
  r.skipTags(); // response header v1
  r.int32(); // throttle_time_ms
  r.array(() => {
    r.int32();
    r.compactString();
    r.int32();
    r.compactString();
    r.skipTags();
  });
  r.compactString(); // cluster_id
  r.int32(); // controller_id
  return r.array(() => {
    const errorCode = r.int16();
    const name = r.compactString();
    const topicId = r.uuid();
    r.bool();
    r.array(() => {
      r.int16();
      r.int32();
      r.int32();
      r.int32();
      for (let k = 0; k < 3; k++) r.array(() => r.int32());
      r.skipTags();
    });
    r.int32();
    r.skipTags();
    return { name, errorCode, topicId };
  });
}

export function createTopicIdReader({ kafka }: { kafka: LogClient }): TopicIdReader {
  const raw = rawClusterOf(kafka) as unknown;
  const ok = Encoder !== undefined && typeof raw === 'object' && raw !== null && typeof Reflect.get(raw, 'findControllerBroker') === 'function';
  if (!ok) throw new PipelineError('KAFKA_CLIENT_UNSUPPORTED', 'the Kafka client offers no raw request: topic IDs cannot be read');
  const cluster = raw as IdCluster;
  const NewEncoder = Encoder;
  let connected: Promise<void> | undefined;

  async function read(topics: readonly string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    if (topics.length === 0) return out;
    connected ??= cluster.connect().then(() => cluster.refreshMetadata()).catch((err: unknown) => {
      connected = undefined;
      throw err;
    });
    await connected;
    let broker: SendingBroker;
    try {
      broker = (await cluster.findControllerBroker()) as SendingBroker;
    } catch (err) {
      await cluster.refreshMetadata().catch(() => undefined);
      throw new PipelineError('KAFKA_METADATA', `no broker to ask for topic IDs: ${String(err)}`, { retriable: true, cause: err });
    }
    const max = broker.versions?.[METADATA]?.maxVersion ?? 0;
    if (max < METADATA_VERSION) {
      for (const t of topics) out.set(t, null);
      return out;
    }
    const body = encodeMetadataV10(topics);
    let answer: unknown;
    try {
      answer = await broker.connectionPool.send({
        request: { apiKey: METADATA, apiVersion: METADATA_VERSION, apiName: 'Metadata', encode: async () => new NewEncoder().writeBuffer(body) },
        response: { decode: async (p) => p, parse: async (p) => decodeMetadataV10(p) },
      });
    } catch (err) {
      await cluster.refreshMetadata().catch(() => undefined);
      if (err instanceof PipelineError) throw err;
      throw new PipelineError('KAFKA_METADATA', `Metadata v${METADATA_VERSION} request failed: ${String(err)}`, { retriable: true, cause: err });
    }
    for (const t of answer as ReturnType<typeof decodeMetadataV10>) {
      if (t.name === null || t.errorCode === UNKNOWN_TOPIC_OR_PARTITION) continue;
      if (t.errorCode !== 0) throw new PipelineError('KAFKA_METADATA', `topic ${t.name}: Metadata error code ${t.errorCode}`, { retriable: true });
      out.set(t.name, t.topicId === ZERO_UUID ? null : t.topicId);
    }
    return out;
  }

  return {
    read,
    async close() {
      if (connected) await connected.then(() => cluster.disconnect()).catch(() => undefined);
      connected = undefined;
    },
  };
}
