/**
 * CPU accounting of PostgreSQL backends for bench/api-latency.ts, from /proc
 * (Linux only; one process and the whole machine: lib/proc-cpu.ts):
 * - PostgreSQL backends of one application_name: sampled every `intervalMs`
 *   while a side runs, so backends born during the run (pgbench's) count from
 *   0 (their connection start-up included) and backends that exit keep their
 *   last sample (at most one interval of work lost per backend).
 * The load generator's CPU comes from the shell's `times` around it (see loadGenerator).
 */
import type pg from 'pg';
import { processCpuSeconds } from './lib/proc-cpu.js';

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
