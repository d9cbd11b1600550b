import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A pipeline process started through the real CLI, as an operator would. */
export interface CliProcess {
  child: ChildProcess;
  output(): string;
  kill9(): Promise<void>;
  /**
   * SIGTERM, then SIGKILL after `killAfterMs` (default: SHUTDOWN_TIMEOUT_MS of
   * its environment + 5 s). Resolves with the exit code (null if it had to be
   * killed) and how long the stop took.
   */
  terminate(killAfterMs?: number): Promise<number | null>;
  /** SIGSTOP for `ms`, then SIGCONT: a frozen process (GC pause, VM stall, debugger). */
  freeze(ms: number): Promise<void>;
  /** True once the process ended by itself or by a signal other than this handle's kill9/terminate. */
  exitedUnexpectedly(): boolean;
  exited: Promise<number | null>;
}

export function spawnCli(args: string[], env: Record<string, string>): CliProcess {
  return spawnProcess(process.execPath, ['--import', 'tsx', 'src/main/cli.ts', ...args], env);
}

/**
 * Any command as a {@link CliProcess}, with the environment spawnCli gives
 * (e.g. an installed package's `ddb-cdc-pipeline` binary, in its own cwd).
 */
export function spawnProcess(command: string, args: string[], env: Record<string, string>, options: { cwd?: string } = {}): CliProcess {
  const child = spawn(command, args, {
    env: { ...process.env, LOG_LEVEL: 'warn', METRICS_PORT: '0', PROMETHEUS_TARGETS_DIR: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  let out = '';
  // Keep the tail only: a long fault run logs a lot, and only the end explains a failure.
  const append = (d: Buffer) => {
    out += d.toString();
    if (out.length > 400_000) out = out.slice(-200_000);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  let stoppedByUs = false;
  let ended = false;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      ended = true;
      resolve(code);
    }),
  );
  const shutdownMs = Number(env.SHUTDOWN_TIMEOUT_MS ?? process.env.SHUTDOWN_TIMEOUT_MS ?? 25_000);
  return {
    child,
    output: () => out,
    exited,
    exitedUnexpectedly: () => ended && !stoppedByUs,
    async kill9() {
      stoppedByUs = true;
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited;
    },
    async terminate(killAfterMs = shutdownMs + 5_000) {
      stoppedByUs = true;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async freeze(ms) {
      child.kill('SIGSTOP');
      await new Promise((r) => setTimeout(r, ms));
      child.kill('SIGCONT');
    },
  };
}

/** Writes a connector file for a test's own table and topic. */
export function writeConnector(table: string, topic: string, overrides: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'connector-'));
  const file = path.join(dir, 'connector.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'test',
      table,
      topic,
      partitions: 3,
      aggregate: 'inventory',
      mapping: {
        persistenceId: 'pkey', sequenceNr: 'sequence_nr', eventType: 'event_type', schemaVersion: 'schema_version', payload: 'payload',
        payloadCodec: 'avro', writtenAt: 'written_at', correlationId: 'correlation_id', causationId: 'causation_id', eventId: 'event_id',
      },
      checkpointTopic: `${topic}.checkpoints`,
      batch: { maxRecords: 500, pollIntervalMs: 100, idlePollIntervalMs: 250 },
      leases: { enabled: true, durationMs: 4000, renewIntervalMs: 1000 },
      ...overrides,
    }),
  );
  return file;
}
