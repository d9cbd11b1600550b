/**
 * CPU accounting for bench/api-latency.ts, from /proc (Linux only):
 * - one process (the Node server): utime + stime of /proc/<pid>/stat, all threads;
 * - PostgreSQL backends of one application_name: sampled every `intervalMs`
 *   while a side runs, so backends born during the run (pgbench's) count from
 *   0 (their connection start-up included) and backends that exit keep their
 *   last sample (at most one interval of work lost per backend);
 * - the whole machine: busy jiffies of /proc/stat, to show what else ran.
 * The load generator's CPU comes from the shell's `times` around it (see loadGenerator).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type pg from 'pg';

export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** CPU seconds (user + system) of a process so far, or undefined when it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Busy and total CPU seconds of the whole machine so far (all cores). */
export function machineCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
}

export interface BackendCpu {
  /** CPU seconds the sampled backends spent during the window. */
  seconds: number;
  /** How many distinct backends were seen. */
  backends: number;
}

/**
 * Samples the CPU of every PostgreSQL backend whose application_name is
 * `applicationName` until stop() is called. `admin` must see other roles'
 * backends in pg_stat_activity (a superuser or pg_read_all_stats).
 */
export function sampleBackends(admin: pg.Client, applicationName: string, { intervalMs = 100 } = {}) {
  const baseline = new Map<number, number>();
  const last = new Map<number, number>();
  let first = true;
  let pids: number[] = [];
  let ticks = 0;
  const readAll = () => {
    for (const pid of pids) {
      const s = processCpuSeconds(pid);
      if (s === undefined) continue;
      if (!baseline.has(pid)) baseline.set(pid, first ? s : 0);
      last.set(pid, s);
    }
  };
  const refreshPids = async () => {
    const { rows } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [applicationName]);
    pids = [...new Set([...pids, ...rows.map((r) => r.pid)])];
  };
  let timer: NodeJS.Timeout | undefined;
  let busy = Promise.resolve();
  return {
    async start(): Promise<void> {
      await refreshPids();
      readAll();
      first = false;
      timer = setInterval(() => {
        // pg_stat_activity every 5th tick (new backends appear at connect); /proc every tick.
        busy = busy.then(async () => {
          if (ticks++ % 5 === 0) await refreshPids();
          readAll();
        });
      }, intervalMs);
    },
    async stop(): Promise<BackendCpu> {
      clearInterval(timer);
      await busy;
      await refreshPids();
      readAll();
      let seconds = 0;
      for (const [pid, s] of last) seconds += s - (baseline.get(pid) ?? 0);
      return { seconds, backends: last.size };
    },
  };
}
