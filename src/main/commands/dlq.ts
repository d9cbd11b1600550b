import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { dlqTopicOf } from '../../consumers/dead-letter.js';
import { loadConnector } from '../../source/bridge.js';
import { listDeadLetters, purgeDeadLetters, replayDeadLetters } from '../../consumers/dlq-admin.js';

export function registerDlqCommands(program: Command, ctx: CliContext) {
  const dlq = program.command('dlq').description("list, inspect, replay and purge a consumer group's dead letters");
  const topicOf = (o: { group: string; topic?: string }) => {
    const source = o.topic ?? loadConnector(ctx.config().connectorFile).topic;
    return { source, dlq: o.group === 'cdc-bridge' ? `${source}.dlq.cdc-bridge` : dlqTopicOf(source, o.group) };
  };
  dlq
    .command('list')
    .description('dead letters with their error, source position and attempts')
    .requiredOption('--group <group>', 'consumer group (or cdc-bridge)')
    .option('--topic <topic>', 'source topic (default: the connector topic)')
    .option('--limit <n>', 'at most this many', (v) => Number(v), 100)
    .action(async (o: { group: string; topic?: string; limit: number }) => {
      const { dlq: topic } = topicOf(o);
      const letters = await listDeadLetters(ctx.clients().kafka(), topic, { limit: o.limit });
      const counts = new Map<string, number>();
      for (const l of letters) {
        counts.set(l.code, (counts.get(l.code) ?? 0) + 1);
        console.log(`${l.partition}/${l.offset} ${l.code} src=${l.sourceTopic}/${l.sourcePartition}@${l.sourceOffset} key=${l.key ?? ''} attempts=${l.attempts} ${l.message.slice(0, 160)}`);
      }
      console.log(`${letters.length} dead letters in ${topic}: ${[...counts].map(([c, n]) => `${c}=${n}`).join(' ') || 'none'}`);
    });
  dlq
    .command('inspect <partition> <offset>')
    .description('one dead letter in full (headers, value as hex)')
    .requiredOption('--group <group>', 'consumer group (or cdc-bridge)')
    .option('--topic <topic>', 'source topic (default: the connector topic)')
    .action(async (partition: string, offset: string, o: { group: string; topic?: string }) => {
      const { dlq: topic } = topicOf(o);
      const [l] = await listDeadLetters(ctx.clients().kafka(), topic, { partition: Number(partition), fromOffset: Number(offset), limit: 1 });
      if (!l || l.offset !== Number(offset)) throw new Error(`no dead letter at ${partition}/${offset} in ${topic}`);
      console.log(JSON.stringify({ ...l, value: l.value?.toString('hex') ?? null }, null, 2));
    });
  dlq
    .command('replay')
    .description('send dead letters back to the source topic (after a fix), then optionally purge them')
    .requiredOption('--group <group>', 'consumer group')
    .option('--topic <topic>', 'source topic (default: the connector topic)')
    .option('--code <code>', 'only letters with this error code')
    .option('--purge', 'purge the DLQ after a successful replay')
    .action(async (o: { group: string; topic?: string; code?: string; purge?: boolean }) => {
      const { dlq: topic } = topicOf(o);
      const n = await replayDeadLetters(ctx.clients().kafka(), topic, { ...(o.code ? { code: o.code } : {}) });
      console.log(`replayed ${n} dead letters from ${topic} to their source topics`);
      if (o.purge) console.log(`purged ${await purgeDeadLetters(ctx.clients().kafka(), topic)} records`);
    });
  dlq
    .command('purge')
    .description('delete every dead letter of the group (deleteRecords up to the end)')
    .requiredOption('--group <group>', 'consumer group (or cdc-bridge)')
    .option('--topic <topic>', 'source topic (default: the connector topic)')
    .action(async (o: { group: string; topic?: string }) => {
      const { dlq: topic } = topicOf(o);
      console.log(`purged ${await purgeDeadLetters(ctx.clients().kafka(), topic)} records from ${topic}`);
    });
}
