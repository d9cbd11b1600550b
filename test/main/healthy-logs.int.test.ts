import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMasterData, loadMasterData } from '../../src/command/master-data.js';
import { ensureReaderRole, migrate } from '../../src/views/migrate.js';
import { expectViewsEqualReadModel, readJournal, waitForProjector } from '../helpers/assertions.js';
import { journalFor, serdeFor } from '../helpers/pipeline.js';
import { spawnCli, writeConnector, type CliProcess } from '../helpers/process.js';
import { createTestDatabase, eventually, uniqueName, type TestDatabase } from '../helpers/stack.js';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** pino's JSON lines of a process's output (anything else it printed is left out). */
function logLines(output: string): LogLine[] {
  return output.split('\n').flatMap((l) => {
    if (!l.startsWith('{')) return [];
    try {
      const v = JSON.parse(l) as Partial<LogLine>;
      return typeof v.level === 'number' && typeof v.msg === 'string' ? [v as LogLine] : [];
    } catch {
      return [];
    }
  });
}

/**
 * ERROR means a person should look: every role in one process (what
 * `npm start` runs) on a healthy stack, under a short burst of load, with
 * LOG_LEVEL=info, prints no line at level error or fatal (pino ≥ 50) from
 * start to a clean stop — including kafkajs' own lines, whose retried
 * protocol errors (CONCURRENT_TRANSACTIONS on AddPartitionsToTxn and the
 * like) are warnings.
 */
describe('log levels on a healthy pipeline', () => {
  const topic = uniqueName('healthy.events');
  const table = uniqueName('healthy-journal');
  const prefix = `${uniqueName('h')}.`;
  const reader = uniqueName('reader').replaceAll('-', '_');
  let db: TestDatabase;
  let env: Record<string, string>;
  let api: string;
  const procs: CliProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('healthy');
    await migrate(db.pool, 'migrations');
    await ensureReaderRole(db.pool, reader, 'reader-password');
    await loadMasterData(db.pool, generateMasterData());
    const apiPort = await freePort();
    const readerUrl = new URL(db.url);
    readerUrl.username = reader;
    readerUrl.password = 'reader-password';
    env = {
      DATABASE_URL: db.url,
      API_DATABASE_URL: readerUrl.toString(),
      CONNECTOR_FILE: writeConnector(table, topic),
      GROUP_PREFIX: prefix,
      API_PORT: String(apiPort),
      LAG_POLL_INTERVAL_MS: '2000',
      LOG_LEVEL: 'info',
    };
    api = `http://127.0.0.1:${apiPort}`;
    await journalFor(table);
    await serdeFor(topic);
  });
  afterAll(async () => {
    for (const p of procs) await p.kill9().catch(() => undefined);
    await db?.drop();
  });

  it('run --roles bridge,projector,views,monitor,api under load prints no ERROR line', async () => {
    const pipeline = spawnCli(['run', '--roles', 'bridge,projector,views,monitor,api'], env);
    procs.push(pipeline);
    const tail = () => pipeline.output().slice(-4000);
    await eventually(async () => ((await fetch(`${api}/healthz`).catch(() => undefined))?.ok ? true : undefined), 90_000, 500).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${tail()}`);
    });

    // As fast as it goes: many short transactions in a row are what makes the broker answer CONCURRENT_TRANSACTIONS.
    const load = spawnCli(['load', '--profile', 'flat', '--rate', '0', '--count', '400', '--inventories', '40', '--seed', '14', '--prefix', 'HLOG'], {
      ...env,
      LOG_LEVEL: 'warn',
    });
    procs.push(load);
    expect(await load.exited, load.output()).toBe(0);

    const { marks } = await readJournal(table);
    await waitForProjector(db.pool, marks, 90_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${tail()}`);
    });
    await expectViewsEqualReadModel(db.pool, 60_000);
    const lag = await fetch(`${api}/lag`);
    expect(lag.status).toBe(200);

    expect(await pipeline.terminate(), tail()).toBe(0);
    expect(pipeline.exitedUnexpectedly()).toBe(false);

    const lines = logLines(pipeline.output());
    expect(lines.filter((l) => l.level === 30).length, 'LOG_LEVEL=info took effect').toBeGreaterThan(0);
    const errors = lines.filter((l) => l.level >= 50);
    expect(errors, JSON.stringify(errors.slice(0, 20), null, 1)).toEqual([]);
  });
});
