import { describe, expect, it } from 'vitest';
import { SinkFailedError, type CheckpointWrite, type OutgoingMessage, type ShardSink } from '../../src/log/relay-producer.js';
import { createGroupCommit, type ShardCursor } from '../../src/source/group-commit.js';
import { noRecords, type MappedPage } from '../../src/source/page-mapper.js';
import { StageFault, type ShardEvent } from '../../src/source/shard-state.js';

// The group commit alone: the one commit sequence, what moves the committed
// position, and what a failed commit leaves behind.
const page = (n: number, bytes = 10): MappedPage => ({
  ...noRecords(),
  out: Array.from({ length: n }, (_, i): OutgoingMessage => ({ topic: 't', key: String(i), value: null, headers: {} })),
  records: n,
  bytes,
  counts: { relayed: n, deadLettered: [], filtered: [], lastWrittenAt: undefined },
});

function setup(options: { fail?: (n: number) => boolean; valid?: () => boolean; limits?: { records: number; bytes: number } } = {}) {
  const commits: { messages: number; checkpoint: CheckpointWrite['checkpoint'] }[] = [];
  const gates: (() => void)[] = [];
  let n = 0;
  const sink: ShardSink = {
    transactionalId: 'tx',
    async commit(messages, c) {
      const mine = ++n;
      await new Promise<void>((r) => gates.push(r));
      if (options.fail?.(mine)) throw new SinkFailedError('REQUEST_TIMED_OUT', new Error('x'));
      commits.push({ messages: messages.length, checkpoint: c.checkpoint });
    },
    reset: async () => undefined,
    close: async () => undefined,
  };
  const cursor: ShardCursor = { committed: { sequenceNumber: '1', shardEnded: false, updatedAt: 0, leaseEpoch: 3, writtenAt: 42 } };
  const events: ShardEvent[] = [];
  const group = createGroupCommit({
    sink,
    checkpoint: { topic: 'cp', table: 'tbl', shardId: 's' },
    lease: { valid: options.valid ?? (() => true), epoch: () => 3 },
    cursor,
    limits: options.limits ?? { records: 100, bytes: 1_000 },
    emit: (e) => events.push(e),
  });
  const release = async () => {
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    gates.shift()!();
  };
  return { group, commits, cursor, events, release };
}

describe('group commit', () => {
  it('starts no transaction without a valid lease', async () => {
    const { group, commits } = setup({ valid: () => false });
    group.add(page(3), '4', false);
    expect(await group.commit({ wait: false })).toBe(false);
    expect(group.committing()).toBe(false);
    expect(commits).toEqual([]);
  });

  it('one commit at a time: pages added meanwhile form the next transaction; the position moves only when a commit is done', async () => {
    const { group, commits, cursor, events, release } = setup();
    group.add(page(3), '4', false);
    await group.commit({ wait: false });
    group.add(page(2), '6', false);
    expect(group.committing()).toBe(true);
    expect(cursor.committed?.sequenceNumber).toBe('1');
    const second = group.commit({ wait: true });
    await release();
    await release();
    await second;
    expect(commits.map((c) => [c.messages, c.checkpoint.sequenceNumber])).toEqual([
      [3, '4'],
      [2, '6'],
    ]);
    expect(cursor.committed).toMatchObject({ sequenceNumber: '6', shardEnded: false, leaseEpoch: 3, writtenAt: 42 });
    expect(events.filter((e) => e.type === 'committed').map((e) => (e as { records: number }).records)).toEqual([3, 2]);
  });

  it('a failed commit is raised by the next drain, tagged "commit", and leaves the committed position where it was', async () => {
    const { group, cursor, release } = setup({ fail: (n) => n === 1 });
    group.add(page(3), '4', false);
    await group.commit({ wait: false });
    await release();
    const err = await group.drain().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StageFault);
    expect((err as StageFault).stage).toBe('commit');
    expect(cursor.committed?.sequenceNumber).toBe('1');
  });

  it('settle() waits for a commit still running without raising, and says whether it failed', async () => {
    const { group, release } = setup({ fail: () => true });
    group.add(page(1), '2', false);
    await group.commit({ wait: false });
    const settled = group.settle();
    await release();
    expect(await settled).toBe(false);
    expect(await group.settle()).toBe(true);
  });

  it('a page that would take a non-empty pending transaction past its caps overflows it; an empty one takes any page', () => {
    const { group } = setup({ limits: { records: 5, bytes: 100 } });
    expect(group.overflows(page(50, 5_000))).toBe(false);
    group.add(page(3), '4', false);
    expect(group.overflows(page(2))).toBe(false);
    expect(group.overflows(page(3))).toBe(true);
    expect(group.overflows(page(1, 95))).toBe(true);
  });

  it('after discard() the pending records are gone and an end-of-shard commit checkpoints the committed position', async () => {
    const { group, commits, release } = setup();
    group.add(page(3), '4', false);
    group.discard();
    group.add(noRecords(), undefined, true);
    const done = group.commit({ wait: true });
    await release();
    await done;
    expect(commits).toEqual([{ messages: 0, checkpoint: expect.objectContaining({ sequenceNumber: '1', shardEnded: true, writtenAt: 42 }) }]);
  });
});
