import { generateMasterData, loadMasterData } from '../../src/command/master-data.js';
import { ensureReaderRole, migrate } from '../../src/db/migrate.js';
import { journalFor, serdeFor } from './pipeline.js';
import { writeConnector } from './process.js';
import { freePort } from './ports.js';
import { createTestDatabase, uniqueName, type TestDatabase } from './stack.js';

export { freePort };

export interface PipelineEnv {
  db: TestDatabase;
  /** Environment for `spawnCli`: the test's database, API reader, connector (own table and topic), group prefix, API port. */
  env: Record<string, string>;
  /** Base URL of the API a spawned `api` role serves. */
  api: string;
  table: string;
  topic: string;
  prefix: string;
}

/**
 * Everything a test needs to run the real roles as CLI processes against the
 * stack, isolated by unique names: a migrated database with master data and
 * a read-only API role, a journal table, a topic with its schemas, a group
 * prefix and a free API port. `extra` adds or overrides environment entries.
 */
export async function createPipelineEnv(name: string, extra: Record<string, string> = {}): Promise<PipelineEnv> {
  const topic = uniqueName(`${name}.events`);
  const table = uniqueName(`${name}-journal`);
  const prefix = `${uniqueName(name)}.`;
  const reader = uniqueName('reader').replaceAll('-', '_');
  const db = await createTestDatabase(name.replaceAll('-', '_'));
  await migrate(db.pool, 'migrations');
  await ensureReaderRole(db.pool, reader, 'reader-password');
  await loadMasterData(db.pool, generateMasterData());
  const apiPort = await freePort();
  const readerUrl = new URL(db.url);
  readerUrl.username = reader;
  readerUrl.password = 'reader-password';
  await journalFor(table);
  await serdeFor(topic);
  return {
    db,
    table,
    topic,
    prefix,
    api: `http://127.0.0.1:${apiPort}`,
    env: {
      DATABASE_URL: db.url,
      API_DATABASE_URL: readerUrl.toString(),
      CONNECTOR_FILE: writeConnector(table, topic),
      GROUP_PREFIX: prefix,
      API_PORT: String(apiPort),
      LAG_POLL_INTERVAL_MS: '1000',
      ...extra,
    },
  };
}
