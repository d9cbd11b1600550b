import { InvalidArgumentError, type Command } from 'commander';
import { renderStatus, type PipelineStatus } from '../../monitor/pipeline-status.js';
import { createStatusCollector } from '../../monitor/status-collector.js';
import { liveGroupId } from '../../shared/group-names.js';
import { loadConnector } from '../../source/bridge.js';
import type { CliContext } from '../cli-context.js';
import { CONSUMERS } from '../consumer-registry.js';

/** Exit codes of `status`: usable from cron and CI. */
export const STATUS_EXIT = { ok: 0, needsAPerson: 1 } as const;

const seconds = (v: string) => {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError('expected a number of seconds > 0');
  return n;
};

/** The pipeline's live groups: LAG_GROUPS when it names them, else every consumer group of the registry. */
export function statusGroups(prefix: string, lagGroups: string[] | 'all'): string[] {
  if (lagGroups !== 'all') return lagGroups;
  return CONSUMERS.map((c) => liveGroupId(prefix, c.name));
}

export function registerStatusCommand(program: Command, ctx: CliContext) {
  program
    .command('status')
    .description('the pipeline on one screen: processes, bridge shards, groups, views, dead letters; exit 1 when something needs a person')
    .option('--watch [seconds]', 'refresh every few seconds (default 5) until interrupted', seconds)
    .option('--stale-after <seconds>', 'a view whose group has unconsumed records is stale when its newest event is older than this', seconds, 120)
    .option('--json', 'print the evaluation as JSON')
    .action(async (o: { watch?: number | true; staleAfter: number; json?: boolean }) => {
      const clients = ctx.clients();
      const { config } = clients;
      const collector = createStatusCollector({
        kafka: clients.kafka(),
        pool: clients.pool(),
        logger: clients.logger,
        targetsDir: config.prometheusTargetsDir,
        topic: loadConnector(config.connectorFile).topic,
        groups: statusGroups(config.groupPrefix, config.lagGroups),
        staleAfterSeconds: o.staleAfter,
      });
      const show = (st: PipelineStatus, clear: boolean) => {
        const text = o.json ? JSON.stringify(st, null, 2) : renderStatus(st);
        // On a terminal each refresh replaces the previous screen; elsewhere (a log file) refreshes follow each other.
        process.stdout.write(`${clear ? '\x1b[H\x1b[2J' : ''}${text}\n`);
        process.exitCode = st.problems.length > 0 ? STATUS_EXIT.needsAPerson : STATUS_EXIT.ok;
      };
      try {
        let st = await collector.collect();
        const every = o.watch === undefined ? undefined : o.watch === true ? 5 : o.watch;
        const clear = every !== undefined && process.stdout.isTTY && !o.json;
        show(st, clear);
        if (every === undefined) return;
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          while (!stop.signal.aborted) {
            await new Promise<void>((resolve) => {
              const t = setTimeout(resolve, every * 1000);
              stop.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
            });
            if (stop.signal.aborted) break;
            st = await collector.collect(st);
            show(st, clear);
          }
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      } finally {
        await collector.stop();
      }
    });
}
