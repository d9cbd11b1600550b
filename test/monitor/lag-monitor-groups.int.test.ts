import type { Admin, Kafka } from 'kafkajs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopicsAndWait } from '../../src/log/topics.js';
import { createLagMonitor } from '../../src/monitor/lag-monitor.js';
import { freshInternalGroupId, rebuildGroupId } from '../../src/shared/group-names.js';
import { kafka, uniqueName, writeFixture } from '../helpers/stack.js';

/**
 * With `groups: 'all'` (what `run --roles monitor` uses) the monitor leaves
 * out the pipeline's own readers and labels a rebuild's group apart, so that
 * neither shows up as a consumer nor can page anyone.
 */
describe('lag monitor: internal and rebuild groups', () => {
  const k: Kafka = kafka('lag-groups');
  let admin: Admin;
  const topic = uniqueName('lag-groups');
  const live = uniqueName('g-live');
  const rebuild = rebuildGroupId(live);
  const internal = freshInternalGroupId('checkpoint-reader');
  const legacy = uniqueName('_cdc-bridge-checkpoint-reader');
  const legacyDlq = uniqueName('dlq-reader');

  beforeAll(async () => {
    admin = k.admin();
    await admin.connect();
    await createTopicsAndWait(admin, [{ topic, numPartitions: 1 }]);
    await writeFixture(k, { topic, messages: Array.from({ length: 50 }, (_, i) => ({ value: `v${i}` })) });
    for (const groupId of [live, rebuild, internal, legacy, legacyDlq]) {
      await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '10' }] });
    }
  });

  afterAll(async () => {
    await admin?.deleteGroups([live, rebuild, internal, legacy, legacyDlq]).catch(() => undefined);
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect();
  });

  it("'all' lists live and rebuild groups, labels the rebuild, and leaves internal readers out", async () => {
    const registry = new Registry();
    const lines: { level: number; msg: string; group?: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as { level: number; msg: string }) });
    const monitor = createLagMonitor({
      kafka: k,
      groups: 'all',
      registry,
      logger,
      pollIntervalMs: 1_000,
      clusterName: 'groups',
      exactLagSeconds: false,
      burrow: { minDistanceMs: 0, intervals: 2 },
    });
    try {
      // Two polls, a window of two: an empty group lagging with an unchanged offset, observed for a whole window, turns STOP on the second.
      await monitor.pollOnce();
      await new Promise((r) => setTimeout(r, 50));
      const snap = await monitor.pollOnce();
      const names = snap.groups.map((g) => g.group);
      expect(names).toContain(live);
      expect(names).toContain(rebuild);
      for (const hidden of [internal, legacy, legacyDlq]) expect(names).not.toContain(hidden);
      expect(names.filter((n) => n.startsWith('_pipeline.'))).toEqual([]);

      expect(snap.groups.find((g) => g.group === live)).toMatchObject({ kind: 'live', sumLag: 40 });
      const r = snap.groups.find((g) => g.group === rebuild);
      expect(r).toMatchObject({ kind: 'rebuild', sumLag: 40, status: { status: 'STOP' } });

      const text = await registry.metrics();
      // The STOP of a rebuild is exported with kind="rebuild", which every alert rule excludes.
      expect(text).toContain(`pipeline_consumer_status{cluster_name="groups",group="${rebuild}",kind="rebuild",source="kafka",status="STOP"`);
      expect(text).toContain(`kafka_consumergroup_group_sum_lag{cluster_name="groups",group="${live}",kind="live"} 40`);
      for (const hidden of [internal, legacy, legacyDlq]) expect(text).not.toContain(`group="${hidden}"`);

      // A rebuild group nobody consumes is a leftover: said once, as a warning naming the commands, however often polled.
      await monitor.pollOnce();
      const leftover = lines.filter((l) => l.group === rebuild);
      expect(leftover).toHaveLength(1);
      expect(leftover[0]!.level).toBe(40);
      expect(leftover[0]!.msg).toContain('--abort');
      expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    } finally {
      await monitor.stop();
    }
  });
});
