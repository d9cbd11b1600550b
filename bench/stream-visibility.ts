/**
 * DynamoDB Local's own share of "journal write → the bridge reads it",
 * measured apart from the bridge: a second reader of the journal table's
 * stream polls every shard every `intervalMs` (from LATEST; shards that open
 * later from TRIM_HORIZON) and records, per record, the moment its
 * GetRecords answered minus the item's `written_at`. `written_at` is set by
 * the writer right before its PutItem / TransactWriteItems, so this holds the
 * write call itself, the time until the stream shows the record, and up to
 * one polling interval. ApproximateCreationDateTime cannot serve: DynamoDB
 * Local truncates it to the minute (DynamoDB to the second).
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { createDynamo, createDynamoStreams } from '../src/source/dynamodb.js';

export interface VisibilityResult {
  samples: number;
  p50Ms: number | null;
  p99Ms: number | null;
  intervalMs: number;
}

export function startStreamVisibilityProbe(o: { endpoint: string; table: string; writtenAt: string; intervalMs?: number }): { stop(): Promise<VisibilityResult> } {
  const intervalMs = o.intervalMs ?? 10;
  const settings = { endpoint: o.endpoint, region: 'us-east-1', accessKeyId: 'x', secretAccessKey: 'x' };
  const ddb = createDynamo(settings);
  const streams = createDynamoStreams(settings);
  const seen: number[] = [];
  const started = new Set<string>();
  const controller = new AbortController();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function follow(arn: string, shardId: string, type: 'LATEST' | 'TRIM_HORIZON') {
    let it = (await streams.send(new GetShardIteratorCommand({ StreamArn: arn, ShardId: shardId, ShardIteratorType: type }))).ShardIterator;
    while (it && !controller.signal.aborted) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator: it, Limit: 1000 }));
      const at = Date.now();
      for (const r of page.Records ?? []) {
        const w = Number(r.dynamodb?.NewImage?.[o.writtenAt]?.N);
        if (Number.isFinite(w)) seen.push(at - w);
      }
      it = page.NextShardIterator;
      await sleep(intervalMs);
    }
  }
  const running = (async () => {
    const arn = (await ddb.send(new DescribeTableCommand({ TableName: o.table }))).Table?.LatestStreamArn;
    if (!arn) return;
    const followers: Promise<void>[] = [];
    for (let first = true; !controller.signal.aborted; first = false) {
      const shards = (await streams.send(new DescribeStreamCommand({ StreamArn: arn }))).StreamDescription?.Shards ?? [];
      for (const s of shards) {
        if (!s.ShardId || started.has(s.ShardId) || (first && s.SequenceNumberRange?.EndingSequenceNumber)) continue;
        started.add(s.ShardId);
        followers.push(follow(arn, s.ShardId, first ? 'LATEST' : 'TRIM_HORIZON').catch(() => undefined));
      }
      await sleep(2_000);
    }
    await Promise.all(followers);
  })().catch(() => undefined);

  return {
    async stop() {
      controller.abort();
      await running;
      ddb.destroy();
      streams.destroy();
      const sorted = [...seen].sort((a, b) => a - b);
      const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! : null);
      return { samples: sorted.length, p50Ms: q(0.5), p99Ms: q(0.99), intervalMs };
    },
  };
}
