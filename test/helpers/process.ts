import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A pipeline process started through the real CLI, as an operator would. */
export interface CliProcess {
  child: ChildProcess;
  output(): string;
  kill9(): Promise<void>;
  terminate(): Promise<number | null>;
  exited: Promise<number | null>;
}

export function spawnCli(args: string[], env: Record<string, string>): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/cli.ts', ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', METRICS_PORT: '0', PROMETHEUS_TARGETS_DIR: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async terminate() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
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
