import type { DescribeStreamOutput } from '@aws-sdk/client-dynamodb-streams';
import { describe, expect, it } from 'vitest';
import { collectShards, planShards, type ShardProgress } from '../../src/source/shard-lineage.js';
import { toShardPage } from '../../src/source/stream-reader.js';

// Recorded-shape DescribeStream answers (written by hand after the AWS
// documentation's examples): a table whose first shard split in two after a
// partition split, one child of which split again, spread over pages of 2.
const ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/journal/stream/2026-11-20T08:00:00.000';
const base = {
  StreamArn: ARN,
  StreamLabel: '2026-11-20T08:00:00.000',
  StreamStatus: 'ENABLED' as const,
  StreamViewType: 'NEW_IMAGE' as const,
  CreationRequestDateTime: new Date('2026-11-20T08:00:00Z'),
  TableName: 'journal',
  KeySchema: [
    { AttributeName: 'pkey', KeyType: 'HASH' as const },
    { AttributeName: 'sequence_nr', KeyType: 'RANGE' as const },
  ],
};
const ROOT = 'shardId-00000001763625600000-0f1e2d3c';
const LEFT = 'shardId-00000001763640000000-4b5a6978';
const RIGHT = 'shardId-00000001763640000001-8c9dab0e';
const LEFT_CHILD = 'shardId-00000001763654400000-1a2b3c4d';
const pages: Record<string, DescribeStreamOutput> = {
  first: {
    StreamDescription: {
      ...base,
      Shards: [
        {
          ShardId: ROOT,
          SequenceNumberRange: { StartingSequenceNumber: '100000000000000000001', EndingSequenceNumber: '100000000000000009999' },
        },
        {
          ShardId: LEFT,
          ParentShardId: ROOT,
          SequenceNumberRange: { StartingSequenceNumber: '200000000000000000001', EndingSequenceNumber: '200000000000000004000' },
        },
      ],
      LastEvaluatedShardId: LEFT,
    },
  },
  [LEFT]: {
    StreamDescription: {
      ...base,
      Shards: [
        { ShardId: RIGHT, ParentShardId: ROOT, SequenceNumberRange: { StartingSequenceNumber: '200000000000000000002' } },
        { ShardId: LEFT_CHILD, ParentShardId: LEFT, SequenceNumberRange: { StartingSequenceNumber: '300000000000000000001' } },
      ],
      LastEvaluatedShardId: LEFT_CHILD,
    },
  },
  // The last page of DescribeStream comes without LastEvaluatedShardId.
  [LEFT_CHILD]: { StreamDescription: { ...base, Shards: [] } },
};

async function recordedShards(calls: (string | undefined)[] = []) {
  return collectShards(async (cursor) => {
    calls.push(cursor);
    return toShardPage(pages[cursor ?? 'first']!.StreamDescription);
  });
}

const progress = (m: Record<string, ShardProgress>) => (id: string) => m[id];

describe('shard lineage (pure scheduler over recorded DescribeStream pages)', () => {
  it('walks every page with ExclusiveStartShardId and keeps each shard once', async () => {
    const calls: (string | undefined)[] = [];
    const shards = await recordedShards(calls);
    expect(calls).toEqual([undefined, LEFT, LEFT_CHILD]);
    expect(shards.map((s) => s.shardId).sort()).toEqual([LEFT, LEFT_CHILD, RIGHT, ROOT].sort());
    expect(shards.find((s) => s.shardId === RIGHT)).toEqual({
      shardId: RIGHT,
      parentShardId: ROOT,
      startingSequenceNumber: '200000000000000000002',
    });
  });

  it('stops when a page repeats its cursor instead of looping forever', async () => {
    let n = 0;
    const shards = await collectShards(async () => {
      n++;
      return { shards: [{ shardId: `s${n}` }], lastEvaluatedShardId: 'same' };
    });
    expect(n).toBe(2);
    expect(shards).toHaveLength(2);
  });

  it('reads only the root while it is unfinished: the split children wait (FLINK-35660)', async () => {
    const plan = planShards(await recordedShards(), progress({ [ROOT]: { sequenceNumber: '100000000000000005000', shardEnded: false } }));
    expect(plan.readable).toEqual([ROOT]);
    expect(plan.blocked).toEqual(
      expect.arrayContaining([
        { shardId: LEFT, waitingFor: ROOT },
        { shardId: RIGHT, waitingFor: ROOT },
        { shardId: LEFT_CHILD, waitingFor: LEFT },
      ]),
    );
    expect(plan.finished).toEqual([]);
  });

  it('a parent whose checkpoint reached its EndingSequenceNumber is finished: both children become readable, oldest first', async () => {
    const plan = planShards(await recordedShards(), progress({ [ROOT]: { sequenceNumber: '100000000000000009999', shardEnded: false } }));
    expect(plan.finished).toEqual([ROOT]);
    expect(plan.readable).toEqual([LEFT, RIGHT]);
    expect(plan.blocked).toEqual([{ shardId: LEFT_CHILD, waitingFor: LEFT }]);
  });

  it('SHARD_END in the checkpoint finishes a shard even before its ending number is known', async () => {
    const plan = planShards(
      await recordedShards(),
      progress({ [ROOT]: { sequenceNumber: '100000000000000009000', shardEnded: true }, [LEFT]: { sequenceNumber: null, shardEnded: true } }),
    );
    expect(plan.finished.sort()).toEqual([LEFT, ROOT].sort());
    expect(plan.readable).toEqual([RIGHT, LEFT_CHILD]);
    expect(plan.blocked).toEqual([]);
  });

  it('a child whose parent was trimmed from the stream (gone from DescribeStream) is readable', async () => {
    const shards = (await recordedShards()).filter((s) => s.shardId !== ROOT);
    const plan = planShards(shards, () => undefined);
    expect(plan.readable).toEqual([LEFT, RIGHT]);
    expect(plan.blocked).toEqual([{ shardId: LEFT_CHILD, waitingFor: LEFT }]);
  });

  it('compares sequence numbers as integers, not strings', () => {
    const shards = [{ shardId: 'p', endingSequenceNumber: '1000' }, { shardId: 'c', parentShardId: 'p' }];
    // '999' > '1000' as strings; as numbers the parent is not finished.
    expect(planShards(shards, progress({ p: { sequenceNumber: '999', shardEnded: false } })).readable).toEqual(['p']);
    expect(planShards(shards, progress({ p: { sequenceNumber: '1000', shardEnded: false } })).readable).toEqual(['c']);
  });
});
