import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import type { ConnectorConfig } from '../../src/source/connector.js';

const runner = path.resolve(import.meta.dirname, 'fixtures/bridge-runner.ts');

/** A bridge in a child process that the test can SIGKILL (kill -9) or SIGTERM. */
export interface BridgeProcess {
  child: ChildProcess;
  ready: Promise<void>;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  output(): string;
}

/** `env` adds variables, e.g. DYNAMODB_STREAMS_ENDPOINT of the shard-split harness. */
export function spawnBridge(connector: ConnectorConfig, workerId: string, env: Record<string, string> = {}): BridgeProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', runner], {
    env: { ...process.env, BRIDGE_CONNECTOR: JSON.stringify(connector), BRIDGE_WORKER_ID: workerId, BRIDGE_LOG_LEVEL: process.env.BRIDGE_LOG_LEVEL ?? 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const ready = new Promise<void>((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('BRIDGE_READY')) resolve();
    });
  });
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      // Keep what the process said for post-mortems of a failed run.
      if (process.env.BRIDGE_DEBUG_DIR) appendFileSync(path.join(process.env.BRIDGE_DEBUG_DIR, `${workerId}.log`), `--- pid ${child.pid} exit ${code}\n${out}`);
      resolve(code);
    }),
  );
  return {
    child,
    ready,
    exited,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
    output: () => out,
  };
}
