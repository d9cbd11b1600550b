import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyRows, type CopyValue } from '../../src/db/copy.js';
import { withTransaction } from '../../src/db/db.js';
import { createTestDatabase, type TestDatabase } from '../helpers/stack.js';

describe('copyRows (real PostgreSQL)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('copy');
    await db.pool.query('create table t (id bigint primary key, name text, at timestamptz, ok boolean)');
  });
  afterAll(async () => db?.drop());

  const row = (i: number): CopyValue[] => [i, i % 7 === 0 ? null : `n\t${i}\\\n\r\\N`, new Date(1_763_900_000_000 + i), i % 2 === 0];

  it('streams many chunks and every value arrives byte for byte', async () => {
    const ids = Array.from({ length: 2_500 }, (_, i) => i);
    const written = await withTransaction(db.pool, (tx) => copyRows(tx, 'copy t (id, name, at, ok) from stdin', ids, row));
    expect(written).toBe(2_500);
    const { rows } = await db.pool.query<{ id: string; name: string | null; at: Date; ok: boolean }>('select * from t order by id');
    expect(rows).toHaveLength(2_500);
    for (const r of rows) {
      const [, name, at, ok] = row(Number(r.id));
      expect([r.name, r.at.getTime(), r.ok]).toEqual([name, (at as Date).getTime(), ok]);
    }
  });

  it('a value refused in a later chunk fails the COPY with its error, keeps nothing, and the connection stays usable', async () => {
    await db.pool.query('truncate t');
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      const ids = Array.from({ length: 2_500 }, (_, i) => i);
      await expect(
        copyRows(client, 'copy t (id, name, at, ok) from stdin', ids, (i) => (i === 1_800 ? [i, 'nul\0byte', null, null] : row(i))),
      ).rejects.toMatchObject({ code: 'COPY_VALUE' });
      await client.query('rollback');
      expect((await client.query<{ n: number }>('select count(*)::int as n from t')).rows[0]!.n).toBe(0);
    } finally {
      client.release();
    }
  });
});
