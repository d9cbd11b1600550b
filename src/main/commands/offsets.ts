import { InvalidArgumentError, type Command } from 'commander';
import { describeWitness } from '../../consumers/offset-witness.js';
import { applyOffsetReset, checkGroupOffsets, parseResetTarget, planOffsetReset, type ResetTarget } from '../../consumers/offset-reset.js';
import { loadConnectors } from '../../source/connector.js';
import type { CliContext } from '../cli-context.js';

const partitionList = (v: string): number[] => {
  const ps = v.split(',').map((x) => Number(x.trim()));
  if (ps.length === 0 || ps.some((p) => !Number.isInteger(p) || p < 0)) throw new InvalidArgumentError('expected partition numbers, comma-separated');
  return ps;
};

const target = (v: string): ResetTarget => {
  try {
    return parseResetTarget(v);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
};

/**
 * `offsets check` and `offsets reset`: where a group stands in PostgreSQL
 * against the topic, and the deliberate way to move it (the remedy the
 * consumers name when a stored offset does not fit the topic).
 */
export function registerOffsetsCommands(program: Command, ctx: CliContext) {
  const offsets = program.command('offsets').description("check a consumer group's stored offsets against the topic, or move them on purpose");
  const topicOf = (t: string | undefined) => t ?? loadConnectors(ctx.config().connectorFile)[0]!.topic;

  offsets
    .command('check')
    .description('judge each partition as the consumer would on assignment: stored offset, the record it was stored after, the topic now')
    .requiredOption('--group <group>', 'consumer group (as `lag` names it)')
    .option('--topic <topic>', 'topic (default: the first connector topic)')
    .action(async (o: { group: string; topic?: string }) => {
      const clients = ctx.clients();
      const topic = topicOf(o.topic);
      const checks = await checkGroupOffsets({ kafka: clients.kafka(), pool: clients.pool(), group: o.group, topic });
      console.log(`${'partition'.padEnd(9)} ${'log start'.padStart(10)} ${'log end'.padStart(10)} ${'stored'.padStart(10)}  verdict`);
      for (const c of checks) {
        const v = c.verdict.ok ? (c.stored?.witness ? (c.verdict.verified ? `ok (after ${describeWitness(c.stored.witness)})` : 'ok (witness not readable)') : 'ok (no witness)') : `BLOCKED ${c.verdict.kind}: ${c.verdict.reason}`;
        console.log(`${String(c.partition).padEnd(9)} ${String(c.logStart).padStart(10)} ${String(c.logEnd).padStart(10)} ${String(c.stored?.nextOffset ?? '-').padStart(10)}  ${v}`);
      }
      if (checks.some((c) => !c.verdict.ok)) process.exitCode = 3;
    });

  offsets
    .command('reset')
    .description("move a stopped group's stored offsets (PostgreSQL, and Kafka's copy) to the log start, the log end or a time; lifts blocks")
    .requiredOption('--group <group>', 'consumer group (as `lag` names it); every process running it must be stopped')
    .requiredOption('--to <where>', 'earliest | latest | an ISO-8601 time', target)
    .option('--topic <topic>', 'topic (default: the first connector topic)')
    .option('--partitions <list>', 'only these partitions (comma-separated)', partitionList)
    .option('--dry-run', 'print what would change and change nothing')
    .action(async (o: { group: string; to: ResetTarget; topic?: string; partitions?: number[]; dryRun?: boolean }) => {
      const clients = ctx.clients();
      const topic = topicOf(o.topic);
      const kafka = clients.kafka();
      const plan = await planOffsetReset({ kafka, pool: clients.pool(), group: o.group, topic, to: o.to, partitions: o.partitions });
      console.log(`${o.dryRun ? 'would move' : 'moving'} ${o.group} on ${topic} (topic ID ${plan.topicId ?? 'unknown'}):`);
      for (const r of plan.rows) {
        console.log(
          `  ${topic}/${r.partition}: ${r.from ?? '(none)'} -> ${r.to} (log ${r.logStart}..${r.logEnd})` +
            `${r.witness ? `, after ${describeWitness(r.witness)}` : ''}${r.blockedReason ? `; lifts: ${r.blockedReason}` : ''}`,
        );
      }
      if (o.dryRun) return;
      await applyOffsetReset({ kafka, pool: clients.pool(), plan });
      console.log(`done: start ${o.group} again; events it applied before and reads again are skipped by sequence number`);
    });
}
