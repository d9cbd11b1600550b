/**
 * CPU time from /proc (Linux only), for the benchmarks: one process, a
 * server with its children (PostgreSQL's backends), and the whole machine.
 * Ticks are converted with the kernel's USER_HZ, read once with
 * `getconf CLK_TCK` (100 on every common Linux, assumed when getconf fails).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** The fields after a /proc/<pid>/stat line's command name (which may hold spaces): state is [0], ppid [1], utime [11], stime [12], cutime [13], cstime [14]. */
function statFields(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system, all threads) of a process so far, plus its reaped children's with `withChildren`; undefined once it is gone. */
export function processCpuSeconds(pid: number, { withChildren = false }: { withChildren?: boolean } = {}): number | undefined {
  const f = statFields(pid);
  if (!f) return undefined;
  const own = Number(f[11]) + Number(f[12]);
  return (withChildren ? own + Number(f[13]) + Number(f[14]) : own) / CLK_TCK;
}

/** A server and all its live children (PostgreSQL's backends), plus the children it has reaped. */
export function treeCpuSeconds(pid: number): number | undefined {
  const root = processCpuSeconds(pid, { withChildren: true });
  if (root === undefined) return undefined;
  let sum = root;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    // A process gone between readdir and read has no fields.
    const f = statFields(d);
    if (f && Number(f[1]) === pid) sum += (Number(f[11]) + Number(f[12])) / CLK_TCK;
  }
  return sum;
}

/** Busy and total CPU seconds of the whole machine so far (all cores, every user's processes). */
export function machineCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  // user nice system idle iowait irq softirq steal; guest and guest_nice are already in user and nice.
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
}
