/** The local stack as bench/e2e-latency.ts sees it: DynamoDB Local's mode and the servers' pids (STACK_DIR, default .stack). */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { processCpuSeconds, treeCpuSeconds } from '../lib/proc-cpu.js';

export type DynamoMode = 'in-memory' | 'on-disk' | 'unknown';
export function dynamoMode(): DynamoMode {
  const file = path.join(process.env.STACK_DIR ?? '.stack', 'dynamodb', 'in-memory');
  if (!existsSync(file)) return 'unknown';
  return readFileSync(file, 'utf8').trim() === '1' ? 'in-memory' : 'on-disk';
}

/**
 * Restarts the local stack's in-memory DynamoDB Local, empty. In memory as on
 * disk, DynamoDB Local looks up stream records by scanning every record it
 * ever kept (deleted tables' included), so its appends slow down as runs
 * accumulate: measured on this machine, 15 appends/s flat out after three
 * bench runs against 121/s from a fresh start. An in-memory DynamoDB Local
 * holds bench scratch tables only (it loses them whenever it stops), so the
 * bench starts it afresh; --keep-dynamodb opts out. Its port is the one
 * DYNAMODB_ENDPOINT names, whatever STACK_DYNAMODB_PORT says.
 */
export function restartDynamo(dynamodbEndpoint: string) {
  const port = new URL(dynamodbEndpoint).port || '80';
  console.error(`e2e-latency: restarting the in-memory DynamoDB Local on port ${port} (empty; --keep-dynamodb keeps it)`);
  const r = spawnSync('bash', ['scripts/stack.sh', 'restart', 'dynamodb'], { env: { ...process.env, STACK_DYNAMODB_PORT: port }, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error('restarting DynamoDB Local failed (see above)');
}

/** The stack's server processes from its state folder (pid files), if this is the local stack. */
export function stackPids(privateDynamoPid?: number): Record<string, number> {
  const dir = process.env.STACK_DIR ?? '.stack';
  const out: Record<string, number> = {};
  for (const svc of ['dynamodb', 'kafka', 'registry', 'postgres', 'prometheus']) {
    const file = path.join(dir, svc, 'pid');
    if (existsSync(file)) out[svc] = Number(readFileSync(file, 'utf8').trim());
  }
  if (privateDynamoPid !== undefined) out.dynamodb = privateDynamoPid;
  return out;
}

/** CPU seconds so far of a process the bench follows: PostgreSQL with its backends, any other with its reaped children. */
export const serverCpuSeconds = (name: string, pid: number): number | undefined =>
  name === 'postgres' ? treeCpuSeconds(pid) : processCpuSeconds(pid, { withChildren: true });
