import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/stack.js';

describe('PostgreSQL migrations and COPY (real server)', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await createTestDatabase('smoke');
    dir = await mkdtemp(path.join(tmpdir(), 'mig-'));
    await writeFile(path.join(dir, '0001_items.sql'), 'create table items (id bigint primary key, name text not null);');
  });
  afterAll(async () => db?.drop());

  it('applies a migration once, refuses an edited one, and COPYs rows in', async () => {
    expect((await migrate(db.pool, dir)).applied).toEqual(['1_items']);
    expect((await migrate(db.pool, dir)).applied).toEqual([]);

    const client = await db.pool.connect();
    try {
      const rows = Array.from({ length: 1000 }, (_, i) => `${i}\titem-${i}\n`);
      await pipeline(Readable.from(rows), client.query(copyFrom('copy items (id, name) from stdin')));
    } finally {
      client.release();
    }
    const { rows } = await db.pool.query<{ n: number; last: string }>(
      "select count(*)::int as n, max(name) filter (where id = 999) as last from items",
    );
    expect(rows[0]).toEqual({ n: 1000, last: 'item-999' });

    await writeFile(path.join(dir, '0001_items.sql'), 'create table items (id int);');
    await expect(migrate(db.pool, dir)).rejects.toThrow(/changed after it was applied/);
  });
});
