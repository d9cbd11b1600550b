/**
 * TEST HARNESS (not product code): a DynamoDB Streams endpoint over HTTP
 * (JSON 1.0, `X-Amz-Target: DynamoDBStreams_20120810.*`, as the AWS SDK
 * speaks it) in front of DynamoDB Local. DynamoDB Local gives every table
 * one shard that never splits; this server reads that real stream with the
 * SDK and presents the same records as a lineage of shards (split-layout.ts):
 * parents closed with EndingSequenceNumber, children split again, iterators
 * that expire, and TrimmedDataAccessException for positions older than a
 * horizon, which a test moves past a stopped bridge's checkpoint as the 24 h
 * retention would (trimAllBut). Only the shard layout and the horizon are
 * simulated; every record is a real one.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
  type DynamoDBStreamsClient,
  type StreamDescription,
  type _Record,
} from '@aws-sdk/client-dynamodb-streams';
import { createSplitLayout, fnv1a, type SplitLayout, type SplitPolicy } from './split-layout.js';
import { decodeToken, HarnessError, recordToWire, token, toWire } from './wire.js';

export interface HarnessOptions {
  /** SDK client of the real stream (DynamoDB Local). */
  real: DynamoDBStreamsClient;
  policy?: SplitPolicy;
  /** Iterators older than this are refused with ExpiredIteratorException (AWS: 15 min). */
  iteratorTtlMs?: number;
  /** DescribeStream returns at most this many shards per page (exercises paging). */
  describePageSize?: number;
  /** Generations split before the first record (empty closed ancestors): 2^initialDepth shards take every record. */
  initialDepth?: number;
}

/** One served call, for assertions on what the bridge read and when. */
export interface HarnessCall {
  op: 'GetShardIterator' | 'GetRecords';
  shardId: string;
  at: number;
  records: number;
  /** GetRecords answered without NextShardIterator: the shard was read to its end. */
  ended: boolean;
}

interface StreamState {
  layout: SplitLayout;
  description: StreamDescription;
  hashKey: string;
  /** Per real shard: where the harness's own reading stands. */
  real: Map<string, { iterator: string | undefined; after: string | undefined; ended: boolean }>;
  chain: Promise<void>;
  syncedAt: number;
  trimBefore: string | undefined;
  held: Set<string>;
}

export async function startSplitStreamsServer(options: HarnessOptions) {
  const { real, iteratorTtlMs = 15 * 60_000, describePageSize = 100 } = options;
  const policy = options.policy ?? { everyRecords: 0, maxDepth: 3 };
  const streams = new Map<string, Promise<StreamState>>();
  const calls: HarnessCall[] = [];
  /** Every error answer (ExpiredIteratorException, TrimmedDataAccessException, ...). */
  const refusals: { op: string; type: string; at: number }[] = [];
  let expiredBefore = 0;

  function state(arn: string): Promise<StreamState> {
    let s = streams.get(arn);
    if (!s) {
      s = (async () => {
        const d = (await real.send(new DescribeStreamCommand({ StreamArn: arn }))).StreamDescription;
        if (!d) throw new HarnessError('ResourceNotFoundException', `stream ${arn} not found`);
        const hashKey = d.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName ?? '';
        const layout = createSplitLayout({ policy });
        for (let d = 0; d < (options.initialDepth ?? 0); d++) layout.split(undefined, layout.openShards().map((o) => o.shardId));
        const st: StreamState = {
          layout,
          description: d,
          hashKey,
          real: new Map(),
          chain: Promise.resolve(),
          syncedAt: 0,
          trimBefore: undefined,
          held: new Set(),
        };
        return st;
      })();
      s.catch(() => streams.delete(arn));
      streams.set(arn, s);
    }
    return s;
  }

  /** Serialised with splits: reads what the real stream has beyond what was ingested. */
  function sync(arn: string, st: StreamState, minIntervalMs = 20): Promise<void> {
    const run = async () => {
      if (Date.now() - st.syncedAt < minIntervalMs) return;
      const d = (await real.send(new DescribeStreamCommand({ StreamArn: arn }))).StreamDescription;
      for (const shard of d?.Shards ?? []) {
        const id = shard.ShardId!;
        const r = st.real.get(id) ?? { iterator: undefined, after: undefined, ended: false };
        st.real.set(id, r);
        for (let pages = 0; !r.ended && pages < 50; pages++) {
          if (!r.iterator) {
            const it = await real.send(
              new GetShardIteratorCommand({
                StreamArn: arn,
                ShardId: id,
                ...(r.after ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: r.after } : { ShardIteratorType: 'TRIM_HORIZON' }),
              }),
            );
            r.iterator = it.ShardIterator;
            if (!r.iterator) break;
          }
          let out;
          try {
            out = await real.send(new GetRecordsCommand({ ShardIterator: r.iterator, Limit: 1000 }));
          } catch (err) {
            // DynamoDB Local refuses a TRIM_HORIZON iterator of an empty shard as trimmed; expired ones are renewed.
            r.iterator = undefined;
            if (['TrimmedDataAccessException', 'ExpiredIteratorException'].includes((err as Error).name)) break;
            throw err;
          }
          for (const rec of out.Records ?? []) ingest(st, rec);
          r.after = out.Records?.at(-1)?.dynamodb?.SequenceNumber ?? r.after;
          r.iterator = out.NextShardIterator;
          if (!out.NextShardIterator) r.ended = true;
          if ((out.Records ?? []).length === 0) break;
        }
      }
      st.syncedAt = Date.now();
    };
    const next = st.chain.then(run);
    st.chain = next.catch(() => undefined);
    return next;
  }

  function ingest(st: StreamState, rec: _Record) {
    const key = rec.dynamodb?.Keys?.[st.hashKey];
    st.layout.ingest({
      sequenceNumber: rec.dynamodb!.SequenceNumber!,
      hash: fnv1a(JSON.stringify(key ? toWire(key) : rec.dynamodb?.Keys ? Object.values(rec.dynamodb.Keys).map(toWire) : '')),
      wire: recordToWire(rec),
    });
  }

  const trimmed = (st: StreamState, seq: string) => st.trimBefore !== undefined && BigInt(seq) < BigInt(st.trimBefore);

  function shardOf(st: StreamState, id: string) {
    const s = st.layout.byId(id);
    if (!s) throw new HarnessError('ResourceNotFoundException', `shard ${id} not found`);
    return s;
  }

  const handlers: Record<string, (body: Record<string, unknown>) => Promise<unknown>> = {
    async ListStreams(body) {
      const out = await real.send(new ListStreamsCommand(body));
      return { Streams: out.Streams, ...(out.LastEvaluatedStreamArn ? { LastEvaluatedStreamArn: out.LastEvaluatedStreamArn } : {}) };
    },
    async DescribeStream(body) {
      const arn = String(body.StreamArn);
      const st = await state(arn);
      await sync(arn, st);
      const all = st.layout.shards();
      const from = body.ExclusiveStartShardId ? all.findIndex((s) => s.shardId === body.ExclusiveStartShardId) + 1 : 0;
      const page = all.slice(from, from + Math.min(Number(body.Limit ?? 100), describePageSize));
      const more = from + page.length < all.length;
      const d = st.description;
      return {
        StreamDescription: {
          StreamArn: d.StreamArn,
          StreamLabel: d.StreamLabel,
          StreamStatus: d.StreamStatus,
          StreamViewType: d.StreamViewType,
          TableName: d.TableName,
          KeySchema: d.KeySchema,
          ...(d.CreationRequestDateTime ? { CreationRequestDateTime: d.CreationRequestDateTime.getTime() / 1000 } : {}),
          Shards: page.map((s) => ({
            ShardId: s.shardId,
            ...(s.parentShardId ? { ParentShardId: s.parentShardId } : {}),
            SequenceNumberRange: {
              StartingSequenceNumber: s.startingSequenceNumber,
              ...(s.endingSequenceNumber ? { EndingSequenceNumber: s.endingSequenceNumber } : {}),
            },
          })),
          ...(more && page.length > 0 ? { LastEvaluatedShardId: page.at(-1)!.shardId } : {}),
        },
      };
    },
    async GetShardIterator(body) {
      const arn = String(body.StreamArn);
      const st = await state(arn);
      await sync(arn, st);
      const shard = shardOf(st, String(body.ShardId));
      const type = String(body.ShardIteratorType);
      const seq = body.SequenceNumber ? BigInt(String(body.SequenceNumber)) : undefined;
      const recs = shard.records;
      let i: number;
      if (type === 'TRIM_HORIZON') i = recs.findIndex((r) => !trimmed(st, r.sequenceNumber));
      else if (type === 'LATEST') i = recs.length;
      else if (seq === undefined) throw new HarnessError('ValidationException', `${type} needs a SequenceNumber`);
      else {
        i = recs.findIndex((r) => (type === 'AT_SEQUENCE_NUMBER' ? BigInt(r.sequenceNumber) >= seq : BigInt(r.sequenceNumber) > seq));
        if (i >= 0 && trimmed(st, recs[i]!.sequenceNumber)) {
          throw new HarnessError('TrimmedDataAccessException', `shard ${shard.shardId}: records after ${body.SequenceNumber} were trimmed`);
        }
      }
      if (i < 0) i = recs.length;
      calls.push({ op: 'GetShardIterator', shardId: shard.shardId, at: Date.now(), records: 0, ended: false });
      return { ShardIterator: token({ a: arn, s: shard.shardId, i, t: Date.now() }) };
    },
    async GetRecords(body) {
      const t = decodeToken(String(body.ShardIterator));
      if (t.t < expiredBefore || Date.now() - t.t > iteratorTtlMs) throw new HarnessError('ExpiredIteratorException', 'Iterator expired');
      const st = await state(t.a);
      const shard = shardOf(st, t.s);
      if (shard.endingSequenceNumber === undefined) await sync(t.a, st);
      const next = (i: number) => token({ ...t, i, t: Date.now() });
      if (st.held.has(shard.shardId)) return { Records: [], NextShardIterator: next(t.i) };
      const first = shard.records[t.i];
      if (first && trimmed(st, first.sequenceNumber)) throw new HarnessError('TrimmedDataAccessException', 'iterator points at trimmed records');
      const page = shard.records.slice(t.i, t.i + Math.min(Number(body.Limit ?? 1000), 1000));
      const end = t.i + page.length;
      const ended = shard.endingSequenceNumber !== undefined && end >= shard.records.length;
      calls.push({ op: 'GetRecords', shardId: shard.shardId, at: Date.now(), records: page.length, ended });
      return { Records: page.map((r) => r.wire), ...(ended ? {} : { NextShardIterator: next(end) }) };
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const op = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    const send = (status: number, payload: unknown, type?: string) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', ...(type ? { 'x-amzn-errortype': type } : {}) });
      res.end(JSON.stringify(payload));
    };
    try {
      const handler = handlers[op];
      if (!handler) throw new HarnessError('UnknownOperationException', `operation ${op} is not served by the harness`);
      send(200, await handler(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>));
    } catch (err) {
      const type = err instanceof HarnessError ? err.type : ((err as Error).name ?? 'InternalServerError');
      refusals.push({ op, type, at: Date.now() });
      const status = err instanceof HarnessError || (err as { $fault?: string }).$fault === 'client' ? 400 : 500;
      send(status, { __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: (err as Error).message }, type);
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function ready(arn: string) {
    const st = await state(arn);
    await sync(arn, st, 0);
    return st;
  }

  return {
    endpoint,
    calls,
    refusals,
    /** The simulated layout of a stream (ingests what the real stream has first). */
    layout: async (arn: string) => (await ready(arn)).layout,
    /** Splits the stream's open shards (or the given ones) after every record written so far. */
    async split(arn: string, ids?: string[]) {
      const st = await ready(arn);
      const done = st.chain.then(() => st.layout.split(undefined, ids));
      st.chain = done.then(() => undefined);
      return done;
    },
    /** Positions before this sequence number answer TrimmedDataAccessException. */
    async trimBefore(arn: string, sequenceNumber: string) {
      (await ready(arn)).trimBefore = sequenceNumber;
    },
    /**
     * Moves the trim horizon as 24 h of retention would while a bridge is
     * stopped and writes go on: every record the stream holds now but the
     * newest `keep` is trimmed, on every shard (trimming goes by age, so one
     * sequence number is the horizon of all). Returns the horizon: the first
     * record still held.
     */
    async trimAllBut(arn: string, keep = 1): Promise<string> {
      const st = await ready(arn);
      const all = st.layout.shards().flatMap((s) => s.records.map((r) => r.sequenceNumber)).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
      const horizon = all[Math.max(0, all.length - keep)]!;
      st.trimBefore = horizon;
      return horizon;
    },
    /** Every record the harness has ingested (trimmed ones too), in stream order, with its shard and item image. */
    async records(arn: string) {
      const st = await ready(arn);
      return st.layout
        .shards()
        .flatMap((s) =>
          s.records.map((r) => {
            const d = r.wire.dynamodb as { NewImage?: Record<string, { S?: string; N?: string }> } | undefined;
            return { sequenceNumber: r.sequenceNumber, shardId: s.shardId, eventName: String(r.wire.eventName ?? ''), image: d?.NewImage };
          }),
        )
        .sort((a, b) => (BigInt(a.sequenceNumber) < BigInt(b.sequenceNumber) ? -1 : 1));
    },
    /** Every iterator handed out so far answers ExpiredIteratorException. */
    expireIterators() {
      expiredBefore = Date.now() + 1;
    },
    /** A held shard answers empty pages (a slow shard); release to go on. */
    async hold(arn: string, shardId: string, held = true) {
      const st = await state(arn);
      if (held) st.held.add(shardId);
      else st.held.delete(shardId);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type SplitStreamsServer = Awaited<ReturnType<typeof startSplitStreamsServer>>;
