import { execFileSync, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { freePort } from './ports.js';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A PostgreSQL server of this test alone: the Debian binaries the stack uses
 * (/usr/lib/postgresql/<v>/bin), a fresh cluster in a temp folder, a free
 * port. A test may freeze it (SIGSTOP of the postmaster and every backend, as
 * a VM stall or a hung host would) without touching the shared server the
 * other test files use.
 */
export interface PrivatePostgres {
  port: number;
  /** Superuser URL of database `db` (trust authentication, 127.0.0.1 only). */
  url(db?: string): string;
  /** SIGSTOP the postmaster, then each of its children: nothing answers, sockets stay open. */
  freeze(): void;
  /** SIGCONT every process that freeze() stopped. */
  thaw(): void;
  /** Thaws, stops the server (immediate) and removes its folder. */
  stop(): void;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(a) - Number(b)).at(-1);
  if (newest === undefined) throw new Error(`no PostgreSQL binaries under ${root}`);
  return path.join(root, newest, 'bin');
}


/** Children of `pid` (from /proc/<n>/stat: field 4 is the parent pid). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const dir = mkdtempSync(path.join(tmpdir(), 'pg-private-'));
  // initdb and postgres refuse to run as root: as root the cluster belongs to the postgres user.
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot
    ? { uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()) }
    : undefined;
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const run = (cmd: string, args: string[]) => {
    const options: SpawnSyncOptions = { cwd: dir, encoding: 'utf8', timeout: 120_000, ...(owner ?? {}) };
    const r = spawnSync(path.join(bin, cmd), args, options);
    if (r.status !== 0) throw new Error(`${cmd} failed (${r.status ?? r.signal}): ${String(r.stderr)}${String(r.stdout)}`);
  };
  const data = path.join(dir, 'data');
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  const port = await freePort();
  const settings = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses='127.0.0.1'",
    '-c fsync=off',
    '-c max_connections=60',
    '-c shared_buffers=16MB',
  ].join(' ');
  run('pg_ctl', ['-D', data, '-l', path.join(dir, 'postgres.log'), '-w', '-t', '60', '-o', settings, 'start']);
  const postmaster = Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let frozen: number[] = [];
  const pg: PrivatePostgres = {
    port,
    url: (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`,
    freeze() {
      // The postmaster first: stopped, it forks no new backend while its children are listed.
      process.kill(postmaster, 'SIGSTOP');
      frozen = [postmaster];
      for (const child of childrenOf(postmaster)) {
        process.kill(child, 'SIGSTOP');
        frozen.push(child);
      }
    },
    thaw() {
      for (const pid of frozen) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // gone
        }
      }
      frozen = [];
    },
    stop() {
      pg.thaw();
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  return pg;
}
