/** The pipeline's roles as bench/e2e-latency.ts runs them: one Node process each (api and monitor together), as a scaled-out deployment does. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { sleep } from '../../src/shared/retry.js';

export interface Child {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

/** A TypeScript entry point in a Node process of its own (its last 200 kB of output kept). */
export function node(file: string, args: string[], env: Record<string, string>, nodeArgs: string[] = [], cwd = process.cwd()): Child {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', file, ...args], {
    cwd,
    env: { ...process.env, LOG_LEVEL: 'warn', METRICS_PORT: '0', PROMETHEUS_TARGETS_DIR: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-200_000)));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-200_000)));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  return { child, exited, output: () => out };
}

export const roleNames = ['bridge', 'projector', 'views', 'api'] as const;
export type RoleName = (typeof roleNames)[number];

export interface RoleProcesses {
  /** Starts the role's process unless it runs already. */
  start(r: RoleName): Child;
  /** The roles started so far, in start order of `roleNames`. */
  started(): RoleName[];
  process(r: RoleName): Child;
  pid(r: RoleName): number;
  metricsUrl(r: RoleName): string;
  /** Waits until every one of `names` answers /readyz (and the API /healthz), up to 3 minutes; throws when one exits. */
  whenReady(names: readonly RoleName[]): Promise<void>;
  /** SIGTERM to every started role, then waits for each to exit. */
  stop(): Promise<void>;
}

export function createRoleProcesses(o: {
  env: Record<string, string>;
  ports: Record<RoleName, number>;
  api: string;
  /** Writes CPU profiles of each role into <profDir>/<role>/. */
  profDir?: string | undefined;
  /** The checkout the roles run from (--roles-dir; default this one). */
  rolesDir?: string | undefined;
}): RoleProcesses {
  const roles: Partial<Record<RoleName, Child>> = {};
  const started = () => roleNames.filter((r) => roles[r]);
  const processOf = (r: RoleName) => roles[r]!;
  return {
    start: (r) =>
      (roles[r] ??= node('src/main/cli.ts', ['run', '--roles', r === 'api' ? 'api,monitor' : r], { ...o.env, METRICS_PORT: String(o.ports[r]) },
        o.profDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(o.profDir, r)}`] : [], o.rolesDir)),
    started,
    process: processOf,
    pid: (r) => processOf(r).child.pid!,
    metricsUrl: (r) => `http://127.0.0.1:${o.ports[r]}/metrics`,
    async whenReady(names) {
      const ready = async () => {
        const ok = await Promise.all(names.map((r) => fetch(`http://127.0.0.1:${o.ports[r]}/readyz`).then((x) => x.ok).catch(() => false)));
        return ok.every(Boolean) && (!names.includes('api') || (await fetch(`${o.api}/healthz`).catch(() => undefined))?.ok === true);
      };
      for (let i = 0; !(await ready()); i++) {
        for (const r of names) if (processOf(r).child.exitCode !== null) throw new Error(`${r} exited: ${processOf(r).output()}`);
        if (i > 360) throw new Error(`${names.join(', ')} did not become ready within 3 minutes`);
        await sleep(500);
      }
    },
    async stop() {
      for (const r of started()) processOf(r).child.kill('SIGTERM');
      await Promise.all(started().map((r) => processOf(r).exited));
    },
  };
}
