import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PipelineError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Pool } from './db.js';

/**
 * A small versioned migration runner over plain SQL files in migrations/
 * (`NNNN_name.sql`, applied in version order, each in its own transaction).
 *
 * Why not node-pg-migrate: the migrations here are plain SQL that DBAs read
 * and review, and two guarantees matter more than a DSL — an applied file that
 * was edited afterwards is refused (sha-256 checksum per version), and two
 * processes starting at once cannot both migrate (a session advisory lock).
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

const LOCK_KEY = 0x6d696772; // 'migr'

export async function loadMigrations(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  const out: Migration[] = [];
  for (const f of files) {
    const sql = await readFile(path.join(dir, f), 'utf8');
    out.push({
      version: Number(f.slice(0, 4)),
      name: f.slice(5, -4),
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  const versions = new Set(out.map((m) => m.version));
  if (versions.size !== out.length) throw new PipelineError('MIGRATION_DUPLICATE', `duplicate migration version in ${dir}`);
  return out;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
}

/** Applies every pending migration; idempotent and safe to run concurrently. */
export async function migrate(pool: Pool, dir: string, logger?: Logger): Promise<MigrateResult> {
  const migrations = await loadMigrations(dir);
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(`create table if not exists schema_migrations (
      version integer primary key,
      name text not null,
      checksum text not null,
      applied_at timestamptz not null default now())`);
    const { rows } = await client.query<{ version: number; name: string; checksum: string }>(
      'select version, name, checksum from schema_migrations',
    );
    const done = new Map(rows.map((r) => [r.version, r]));
    const applied: string[] = [];
    for (const m of migrations) {
      const prev = done.get(m.version);
      if (prev) {
        if (prev.checksum !== m.checksum) {
          throw new PipelineError(
            'MIGRATION_CHANGED',
            `migration ${m.version}_${m.name} was changed after it was applied (checksum differs); add a new migration instead`,
          );
        }
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('insert into schema_migrations(version, name, checksum) values ($1, $2, $3)', [
          m.version,
          m.name,
          m.checksum,
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new PipelineError('MIGRATION_FAILED', `migration ${m.version}_${m.name} failed: ${(err as Error).message}`, {
          cause: err,
        });
      }
      applied.push(`${m.version}_${m.name}`);
      logger?.info({ migration: `${m.version}_${m.name}` }, 'migration applied');
    }
    return { applied, alreadyApplied: migrations.length - applied.length };
  } finally {
    await client.query('select pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    client.release();
  }
}

/**
 * Creates (or updates the password of) the read-only role the API connects
 * with: it may SELECT the pipeline's tables and nothing else, now and for
 * tables created later by migrations.
 */
export async function ensureReaderRole(pool: Pool, user: string, password: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(user)) throw new PipelineError('CONFIG', `invalid reader role name ${user}`);
  const client = await pool.connect();
  try {
    const quotedPw = `'${password.replaceAll("'", "''")}'`;
    const { rowCount } = await client.query('select 1 from pg_roles where rolname = $1', [user]);
    await client.query(
      rowCount
        ? `alter role ${user} with login password ${quotedPw}`
        : `create role ${user} with login password ${quotedPw} nosuperuser nocreatedb nocreaterole`,
    );
    const { rows } = await client.query<{ db: string }>('select current_database() as db');
    await client.query(`grant connect on database "${rows[0]!.db}" to ${user}`);
    await client.query(`grant usage on schema public to ${user}`);
    await client.query(`grant select on all tables in schema public to ${user}`);
    await client.query(`alter default privileges in schema public grant select on tables to ${user}`);
    await client.query(`revoke create on schema public from ${user}`);
  } finally {
    client.release();
  }
}
