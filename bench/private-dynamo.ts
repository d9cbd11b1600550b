/**
 * A private in-memory DynamoDB Local for a bench, started from the local
 * stack's jars ($STACK_DIR/dynamodb; `npm run stack -- up` once puts them
 * there) on a port of its own: benches never restart or fill the shared one,
 * and each run starts from an empty one (DynamoDB Local's appends slow down as
 * stream records accumulate).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { createDynamo } from '../src/source/dynamodb.js';

/** A port in a range the stack never uses (its DynamoDB Local is on 8000 or STACK_DYNAMODB_PORT). */
export function privateDynamoPort(): number {
  return 38_000 + Math.floor(Math.random() * 1000);
}

export interface PrivateDynamo {
  endpoint: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts it and waits until it answers ListTables (up to a minute). */
export async function startPrivateDynamo(port = privateDynamoPort(), maxHeap = '3g'): Promise<PrivateDynamo> {
  const d = path.join(process.env.STACK_DIR ?? path.resolve(import.meta.dirname, '../.stack'), 'dynamodb');
  const child = spawn(
    'java',
    [`-Xms256m`, `-Xmx${maxHeap}`, `-Djava.library.path=${d}/native`, '-Dstack.dynamodb.host=127.0.0.1', '-cp', `${d}/libs/*:${d}/launcher`, 'LoopbackServerRunner', '-port', String(port), '-inMemory', '-sharedDb', '-disableTelemetry'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const endpoint = `http://127.0.0.1:${port}`;
  const probe = createDynamo({ endpoint, region: 'us-east-1', accessKeyId: 'x', secretAccessKey: 'x', requestTimeoutMs: 5_000 });
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  for (let i = 0; ; i++) {
    try {
      await probe.send(new ListTablesCommand({}));
      probe.destroy();
      return { endpoint, child, stop };
    } catch (err) {
      if (i > 120 || child.exitCode !== null) {
        await stop();
        throw new Error(`private DynamoDB Local did not start on port ${port}: ${String(err)}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
