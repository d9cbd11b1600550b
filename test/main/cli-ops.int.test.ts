import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopicsAndWait } from '../../src/log/topics.js';
import { spawnCli } from '../helpers/process.js';
import { kafka, uniqueName, writeFixture } from '../helpers/stack.js';

/**
 * The operator commands of docs/operating/README.md's table not run as a process
 * elsewhere: `schemas register | list | check <file>` and `lag [--json]`.
 */
const cli = async (args: string[], env: Record<string, string> = {}) => {
  const p = spawnCli(args, { LOG_LEVEL: 'error', ...env });
  const code = await p.exited;
  return { code, out: p.output() };
};

describe('cli schemas register | list | check', () => {
  const topic = uniqueName('schemas.events');
  const subjects = [
    'InventoryCreated', 'StockAdjusted', 'StockReceived', 'StockReleased', 'StockReserved', 'StockShipped', 'StorageConditionViolated', 'ZoneTransferred',
  ].map((t) => `${topic}-inventory.events.${t}`);

  it('registers every version under <topic>-<record name> once; list shows them; a second register changes nothing', async () => {
    const first = await cli(['schemas', 'register', '--topic', topic]);
    expect(first.code, first.out).toBe(0);
    for (const s of subjects) expect(first.out).toMatch(new RegExp(`registered\\s+${s.replaceAll('.', '\\.')} v1 id=\\d+`));
    expect(first.out).toMatch(new RegExp(`registered\\s+${topic.replaceAll('.', '\\.')}-inventory\\.events\\.StockShipped v2 id=\\d+`));
    const again = await cli(['schemas', 'register', '--topic', topic]);
    expect(again.code, again.out).toBe(0);
    expect(again.out).not.toMatch(/^registered/m);
    expect(again.out.match(/^present/gm)?.length).toBe(first.out.match(/^registered/gm)?.length);
    const list = await cli(['schemas', 'list']);
    expect(list.code, list.out).toBe(0);
    expect(list.out).toContain(`${topic}-inventory.events.StockShipped: 1, 2`);
    expect(list.out).toContain(`${topic}-inventory.events.ZoneTransferred: 1`);
  });

  it('check accepts a compatible next version and refuses one the registry or the evolution rule would not take (exit 2)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'schemas-'));
    const v2 = JSON.parse(readFileSync('schemas/inventory/StockShipped.v2.avsc', 'utf8')) as { doc: string; fields: { name: string; type: unknown; default?: unknown; doc?: string }[] };
    // v3 adds an optional field with a default: Avro resolution carries it, the registry (BACKWARD) takes it.
    const ok = path.join(dir, 'StockShipped.v3.avsc');
    writeFileSync(ok, JSON.stringify({ ...v2, fields: [...v2.fields, { name: 'carrier', type: ['null', 'string'], default: null }] }));
    const accepted = await cli(['schemas', 'check', ok, '--topic', topic]);
    expect(accepted.code, accepted.out).toBe(0);
    expect(accepted.out).toContain(`${topic}-inventory.events.StockShipped: compatible`);
    // v3 adds a required field without a default: old records cannot be read with it.
    const badFile = path.join(mkdtempSync(path.join(dir, 'bad-')), 'StockShipped.v3.avsc');
    writeFileSync(badFile, JSON.stringify({ ...v2, fields: [...v2.fields, { name: 'carrier', type: 'string' }] }));
    const refused = await cli(['schemas', 'check', badFile, '--topic', topic]);
    expect(refused.code, refused.out).toBe(2);
    expect(refused.out).toMatch(/INCOMPATIBLE|REJECTED/);
  });
});

describe('cli lag [--json]', () => {
  const k = kafka('cli-lag');
  const topic = uniqueName('cli-lag');
  const group = uniqueName('cli-lag-group');
  let admin: Admin;

  beforeAll(async () => {
    admin = k.admin();
    await admin.connect();
    await createTopicsAndWait(admin, [{ topic, numPartitions: 1 }]);
    await writeFixture(k, { topic, messages: Array.from({ length: 30 }, (_, i) => ({ value: `r${i}` })) });
    // A group that consumed 12 of the 30 records and stopped.
    await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '12' }] });
  });
  afterAll(async () => {
    await admin.deleteGroups([group]).catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('prints each group with its lag, as a table and as JSON', async () => {
    // The group named: on a shared cluster `lag` of every group lists what every other test left.
    const json = await cli(['lag', '--json', '--group', group]);
    expect(json.code, json.out.slice(-2000)).toBe(0);
    const snap = JSON.parse(json.out.slice(json.out.indexOf('{'))) as { groups: { group: string; sumLag: number; maxLag: number; topics: { topic: string; partitions: { committedOffset: number; lag: number }[] }[] }[] };
    const g = snap.groups.find((x) => x.group === group);
    expect(g, `${group} not in the snapshot`).toBeDefined();
    expect(g).toMatchObject({ sumLag: 18, maxLag: 18 });
    expect(g!.topics.find((t) => t.topic === topic)?.partitions[0]).toMatchObject({ committedOffset: 12, lag: 18 });

    const table = await cli(['lag', '--group', group]);
    expect(table.code, table.out.slice(-2000)).toBe(0);
    expect(table.out).toMatch(/^group\s+status\s+sum lag\s+max lag\s+max s\s+offsets\s+reason/m);
    expect(table.out).toMatch(new RegExp(`^${group.replaceAll('.', '\\.')}\\s+\\S+\\s+18\\s+18\\s+[\\d.]+`, 'm'));
  });
});
