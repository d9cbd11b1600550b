import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMasterData, loadMasterData } from '../../src/command/master-data.js';
import { migrate } from '../../src/db/migrate.js';
import { readJournal, waitForProjector } from '../helpers/assertions.js';
import { journalFor, serdeFor } from '../helpers/pipeline.js';
import { spawnCli, writeConnector, type CliProcess } from '../helpers/process.js';
import { createTestDatabase, eventually, kafka, uniqueName, type TestDatabase, writeFixture } from '../helpers/stack.js';

/** `cli status` as cron or CI runs it: the screen and the exit code. */
async function status(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const p = spawnCli(['status'], { ...env, LOG_LEVEL: 'error' });
  const code = await p.exited;
  return { code, out: p.output() };
}

describe('cli status against a running pipeline', () => {
  const topic = uniqueName('status.events');
  const table = uniqueName('status-journal');
  const prefix = `${uniqueName('st')}.`;
  const targetsDir = mkdtempSync(path.join(tmpdir(), 'targets-'));
  let db: TestDatabase;
  let env: Record<string, string>;
  const procs: CliProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('status');
    await migrate(db.pool, 'migrations');
    await loadMasterData(db.pool, generateMasterData());
    env = {
      DATABASE_URL: db.url,
      CONNECTOR_FILE: writeConnector(table, topic),
      GROUP_PREFIX: prefix,
      PROMETHEUS_TARGETS_DIR: targetsDir,
      LAG_POLL_INTERVAL_MS: '1000',
    };
    await journalFor(table);
    await serdeFor(topic);
  });
  afterAll(async () => {
    for (const p of procs) await p.kill9().catch(() => undefined);
    await db?.drop();
  });

  it('fails while no process is announced', async () => {
    const { code, out } = await status(env);
    expect(out).toContain('NEEDS ATTENTION');
    expect(out).toContain(`no pipeline process announced in ${targetsDir}`);
    expect(code).toBe(1);
  });

  it('shows every part of a healthy pipeline and exits 0; a dead letter, then a killed process, make it fail', async () => {
    const pipeline = spawnCli(['run', '--roles', 'bridge,projector,views,monitor'], env);
    procs.push(pipeline);
    await eventually(async () => (readdirSync(targetsDir).some((f) => f.endsWith('.json')) ? true : undefined), 90_000, 500);
    const load = spawnCli(['load', '--profile', 'flat', '--rate', '0', '--count', '60', '--inventories', '6', '--seed', '18', '--prefix', 'STAT'], env);
    procs.push(load);
    expect(await load.exited, load.output()).toBe(0);
    const { marks } = await readJournal(table);
    await waitForProjector(db.pool, marks, 90_000);

    // Ready once every consumer runs and the views caught up: the screen then names every part. The canary keeps
    // a record or two in flight, and a monitor a few seconds old has no window yet (NO DATA, exit 0): wait for an
    // instant at which both groups are judged OK and caught up.
    const caughtUp = (out: string) =>
      [`${prefix}inventory-projector`, `${prefix}inventory-views`].every((group) =>
        new RegExp(`${group.replaceAll('.', '\\.')}\\s+OK\\s+0\\s+[\\d.]+\\s+agree`).test(out),
      );
    const healthy = await eventually(async () => {
      const s = await status(env);
      return s.code === 0 && caughtUp(s.out) ? s : undefined;
    }, 90_000, 1000).catch(async (err: unknown) => {
      throw new Error(`${String(err)}\n${(await status(env)).out}\n${pipeline.output().slice(-3000)}`);
    });
    const out = healthy.out;
    expect(out).toMatch(/pipeline status .*: OK/);
    expect(out).toMatch(/127\.0\.0\.1:\d+\s+bridge\+monitor\+projector\+views\s+ready/);
    expect(out).toMatch(/bridge shards\n\s+shard\s+iterator age\s+checkpoint age\n\s+\S+\s+[\d.]+ s\s+[\d.]+ s/);
    for (const group of [`${prefix}inventory-projector`, `${prefix}inventory-views`]) {
      expect(out).toMatch(new RegExp(`${group.replaceAll('.', '\\.')}\\s+OK\\s+0\\s+[\\d.]+\\s+agree`));
    }
    expect(out).toMatch(/views\n(\s+\S+\s+freshness\s+[\d.]+ s\s+fresh\n)+/);
    expect(out).toContain('dead letters 0   parked ids 0');
    expect(out).not.toContain('needs a person');

    // A dead letter waits for a person.
    const k = kafka('status-test');
    const admin = k.admin();
    await admin.connect();
    const dlq = `${topic}.dlq.${prefix}inventory-projector`;
    await admin.createTopics({ topics: [{ topic: dlq, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    await writeFixture(k, { topic: dlq, messages: [{ key: 'x', value: 'poison' }] });
    const withDlq = await status(env);
    expect(withDlq.out).toContain(`1 dead letter(s) in ${dlq}`);
    expect(withDlq.out).toContain('dead letters 1');
    expect(withDlq.code).toBe(1);

    // A process killed without a chance to withdraw its target file: announced, but down.
    await pipeline.kill9();
    const down = await status(env);
    expect(down.out).toMatch(/127\.0\.0\.1:\d+\s+bridge\+monitor\+projector\+views\s+DOWN/);
    expect(down.out).toMatch(/process 127\.0\.0\.1:\d+ \(bridge\+monitor\+projector\+views\) does not answer \/metrics/);
    expect(down.code).toBe(1);
  }, 300_000);
});
