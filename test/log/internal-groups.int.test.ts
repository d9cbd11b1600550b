import type { Admin, Consumer, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDeadLetters } from '../../src/consumers/dlq-admin.js';
import { sweepInternalGroups, withInternalGroup } from '../../src/log/internal-groups.js';
import { createTopicsAndWait } from '../../src/log/topics.js';
import { freshInternalGroupId, isInternalGroup } from '../../src/shared/group-names.js';
import { kafka, testLogger, uniqueName, writeFixture } from '../helpers/stack.js';

const HOUR = 3_600_000;

describe('internal consumer groups', () => {
  const k: Kafka = kafka('internal-groups');
  let admin: Admin;
  const topic = uniqueName('internal-groups');
  const groups = async () => new Set((await admin.listGroups()).groups.map((g) => g.groupId));
  const commitAt = (groupId: string) => admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '1' }] });

  beforeAll(async () => {
    admin = k.admin();
    await admin.connect();
    await createTopicsAndWait(admin, [{ topic, numPartitions: 1 }]);
    await writeFixture(k, { topic, messages: [{ value: 'a', headers: { dlq_error_code: 'BAD' } }, { value: 'b', headers: { dlq_error_code: 'BAD' } }] });
  });

  afterAll(async () => {
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect();
  });

  it('withInternalGroup deletes its group after use, also when the use fails', async () => {
    let seen = '';
    await withInternalGroup({
      admin,
      purpose: 'test-reader',
      logger: testLogger,
      use: async (groupId) => {
        seen = groupId;
        await commitAt(groupId); // a group with committed offsets is never removed by Kafka on its own
        expect(await groups()).toContain(groupId);
      },
    });
    expect(isInternalGroup(seen)).toBe(true);
    expect(await groups()).not.toContain(seen);

    let failed = '';
    await expect(
      withInternalGroup({
        admin,
        purpose: 'test-reader',
        logger: testLogger,
        use: async (groupId) => {
          failed = groupId;
          await commitAt(groupId);
          throw new Error('read failed');
        },
      }),
    ).rejects.toThrow('read failed');
    expect(await groups()).not.toContain(failed);
  });

  it('the sweep deletes idle internal groups older than ten minutes, and nothing in use or recent', async () => {
    const stale = freshInternalGroupId('test-reader', Date.now() - HOUR);
    const recent = freshInternalGroupId('test-reader');
    const staleInUse = freshInternalGroupId('test-reader', Date.now() - HOUR);
    const live = uniqueName('live-group');
    for (const g of [stale, recent, live]) await commitAt(g);
    const member: Consumer = k.consumer({ groupId: staleInUse });
    await member.connect();
    try {
      await member.subscribe({ topic, fromBeginning: true });
      let joined!: () => void;
      const isJoined = new Promise<void>((r) => (joined = r));
      member.on(member.events.GROUP_JOIN, () => joined());
      await member.run({ eachMessage: async () => undefined });
      await isJoined;

      // (Bridges of other test files sweep too, so the outcome is checked, not who deleted it.)
      await sweepInternalGroups(admin, testLogger);
      const after = await groups();
      expect(after).not.toContain(stale);
      for (const kept of [recent, staleInUse, live]) expect(after).toContain(kept);
    } finally {
      await member.disconnect();
      await admin.deleteGroups([recent, staleInUse, live]).catch(() => undefined);
    }
  });

  it('listing dead letters leaves no group behind', async () => {
    const before = await groups();
    const letters = await listDeadLetters(k, topic);
    expect(letters.map((l) => l.code)).toEqual(['BAD', 'BAD']);
    const added = [...(await groups())].filter((g) => !before.has(g) && g.startsWith('_pipeline.dlq-reader.'));
    expect(added).toEqual([]);
  });
});
