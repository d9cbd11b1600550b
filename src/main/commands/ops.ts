import type { Command } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { Registry } from 'prom-client';
import { checkIntegrity } from '../../consumers/integrity.js';
import { createInventoryProjector, INVENTORY_PROJECTOR_GROUP } from '../../consumers/projectors/inventory-projector.js';
import { abortRebuild, rebuildView, type RebuildProgress } from '../../consumers/rebuild.js';
import { formatProgress } from '../../consumers/rebuild-progress.js';
import { liveGroupId, rebuildGroupId } from '../../shared/group-names.js';
import { createLagMonitor } from '../../monitor/lag-monitor.js';
import type { LagSnapshot } from '../../monitor/lag-snapshot.js';
import { loadConnectors } from '../../source/connector.js';
import { PipelineError } from '../../shared/errors.js';
import { consumerSources } from '../consumer-role.js';
import type { CliContext } from '../cli-context.js';
import { CONSUMERS, consumerNamed, type ConsumerDeps } from '../consumer-registry.js';

function progressPrinter() {
  const bar = process.stdout.isTTY
    ? new SingleBar({ format: 'rebuild |{bar}| {value}/{total} offsets | {rate} ev/s | ETA {etaText}' }, Presets.shades_classic)
    : undefined;
  let started = false;
  let lastLog = 0;
  let lastStalled = '';
  return {
    update(p: RebuildProgress) {
      const etaText = p.etaSeconds === undefined ? '?' : `${Math.round(p.etaSeconds)}s`;
      if (bar) {
        if (!started) bar.start(p.total, p.done, { rate: 0, etaText });
        started = true;
        bar.setTotal(p.total);
        bar.update(p.done, { rate: Math.round(p.eventsPerSecond), etaText });
        // Partitions that do not move are named below the bar whenever the set changes.
        const stalled = p.stalled.map((x) => `p${x.partition}: ${x.reason ?? x.state}`).join('; ');
        if (stalled && stalled !== lastStalled) console.log(`\nno progress on ${stalled}`);
        lastStalled = stalled;
      } else if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        console.log(formatProgress(p));
      }
    },
    stop: () => bar?.stop(),
  };
}

const consumerNames = CONSUMERS.map((c) => c.name).join(' or ');

/** What `rebuild <view>` rebuilds: the live group, its tables and its handler writing into the shadow names. */
function rebuildSpecOf(view: string, deps: ConsumerDeps) {
  const c = consumerNamed(view);
  if (!c) throw new Error(`unknown view ${view}: use ${consumerNames}`);
  const liveGroup = liveGroupId(deps.clients.config.groupPrefix, c.name);
  return {
    liveGroup,
    tables: [...c.tables],
    makeHandler: (tables: Record<string, string>) => c.handler(deps, { groupId: rebuildGroupId(liveGroup), tables }),
    ...(c.afterSwap ? { afterSwap: c.afterSwap } : {}),
  };
}

/** SIGINT / SIGTERM stop a rebuild cleanly (resumable); a second signal exits at once. */
function interruptOnSignal(): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const onSignal = () => {
    if (ac.signal.aborted) process.exit(130);
    console.error('stopping the rebuild (run it again to resume, or with --abort to discard it); a second signal exits at once');
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: ac.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

export function registerOpsCommands(program: Command, ctx: CliContext) {
  program
    .command('integrity')
    .description("compare each inventory's journal max sequence number with the read model's (and repair)")
    .option('--repair', 'apply what the read model misses, from the journal')
    .action(async (o: { repair?: boolean }) => {
      const clients = ctx.clients();
      const { journal, serde } = consumerSources(clients, loadConnectors(clients.config.connectorFile));
      const groupId = liveGroupId(clients.config.groupPrefix, INVENTORY_PROJECTOR_GROUP);
      const projector = createInventoryProjector({ journal, serde, pool: clients.pool(), logger: clients.logger, groupId });
      const report = await checkIntegrity({
        journal,
        pool: clients.pool(),
        ...(o.repair ? { repair: (pid: string, to: number) => projector.repair(pid, to) } : {}),
      });
      for (const f of report.findings.slice(0, 50)) {
        console.log(`${f.kind.padEnd(7)} ${f.persistenceId} journal=${f.journalMax} read-model=${f.readModelLast ?? '-'}`);
      }
      if (report.findings.length > 50) console.log(`… and ${report.findings.length - 50} more`);
      console.log(JSON.stringify({ journalIds: report.journalIds, readModelIds: report.readModelIds, findings: report.findings.length, repaired: report.repaired, durationMs: report.durationMs }));
      if (report.findings.length > 0 && !o.repair) process.exitCode = 3;
    });

  program
    .command('rebuild <view>')
    .description(`rebuild ${consumerNames} from the start of the topic into shadow tables and swap atomically`)
    .option('--restart', 'discard a previous, unfinished rebuild instead of resuming it')
    .option('--abort', 'remove what an unfinished rebuild left (shadow tables, offsets, parked rows, freshness rows, Kafka group) and stop there')
    .action(async (view: string, o: { restart?: boolean; abort?: boolean }) => {
      const clients = ctx.clients();
      const { topics, serde, journal } = consumerSources(clients, loadConnectors(clients.config.connectorFile));
      if (topics.length !== 1) {
        // Progress, the swap and the offsets' hand-over are per partition of one topic.
        throw new PipelineError(
          'CONFIG',
          `rebuild reads one topic, and CONNECTOR_FILE gives the views ${topics.length} (${topics.join(', ')}); until rebuilds span topics, rebuild with a CONNECTOR_FILE of one inventory topic only when the views hold nothing of the others`,
        );
      }
      const topic = topics[0]!;
      const spec = rebuildSpecOf(view, { clients, serde, journal });
      if (o.abort) {
        const report = await abortRebuild({
          kafka: clients.kafka(),
          pool: clients.pool(),
          topic,
          liveGroup: spec.liveGroup,
          tables: spec.tables,
          logger: clients.logger,
        });
        console.log(`aborted the rebuild of ${view}: ${JSON.stringify(report)}`);
        return;
      }
      const progress = progressPrinter();
      const interrupt = interruptOnSignal();
      try {
        const result = await rebuildView({
          kafka: clients.kafka(),
          pool: clients.pool(),
          topic,
          serde,
          logger: clients.logger,
          metrics: new Registry(),
          batchSize: clients.config.consumerBatchSize,
          sessionTimeoutMs: clients.config.consumerSessionTimeoutMs,
          replicationFactor: clients.config.topicReplicationFactor,
          restart: o.restart ?? false,
          onProgress: (p: RebuildProgress) => progress.update(p),
          signal: interrupt.signal,
          // What the topic's retention removed is read from the journal, the source of truth.
          journal,
          ...spec,
        });
        progress.stop();
        console.log(
          `rebuilt ${view}${result.resumed ? ' (resumed)' : ''}: ${result.events} offsets in ${(result.durationMs / 1000).toFixed(1)} s` +
            (result.deadLetters > 0 ? `; ${result.deadLetters} records dead-lettered: dlq list --group ${rebuildGroupId(spec.liveGroup)}` : ''),
        );
      } finally {
        progress.stop();
        interrupt.dispose();
      }
    });

  program
    .command('lag')
    .description('print consumer lag and status of every group (or of the groups named), once')
    .option('--json', 'print the JSON snapshot')
    .option('--group <groups>', 'only these groups (comma-separated)', (v: string) => v.split(',').map((g) => g.trim()).filter(Boolean))
    .action(async (o: { json?: boolean; group?: string[] }) => {
      const clients = ctx.clients();
      const groups = o.group && o.group.length > 0 ? o.group : 'all';
      const monitor = createLagMonitor({ kafka: clients.kafka(), pool: clients.pool(), groups, registry: new Registry(), logger: clients.logger, pollIntervalMs: 1000 });
      try {
        const snap = await monitor.pollOnce();
        if (o.json) console.log(JSON.stringify(snap, null, 2));
        else printLag(snap);
      } finally {
        await monitor.stop();
      }
    });
}

function printLag(snap: LagSnapshot) {
  console.log(`${'group'.padEnd(44)} ${'status'.padEnd(7)} ${'sum lag'.padStart(9)} ${'max lag'.padStart(9)} ${'max s'.padStart(8)}  ${'offsets'.padEnd(8)} reason`);
  for (const g of snap.groups) {
    const st = g.status;
    // Kafka's own view of a group that stores its offsets is advisory: shown only where it tells another story.
    const kafka = g.kafkaStatus && g.kafkaStatus.status !== st?.status ? `  (Kafka-committed offsets alone: ${g.kafkaStatus.status}, ${g.kafkaStatus.detail})` : '';
    console.log(
      `${g.group.padEnd(44)} ${String(st?.status ?? '-').padEnd(7)} ${String(g.sumLag).padStart(9)} ${String(g.maxLag).padStart(9)} ${g.maxLagSeconds.toFixed(1).padStart(8)}  ${g.offsetSource.padEnd(8)} ${st?.detail ?? ''}${kafka}`,
    );
  }
  for (const e of snap.errors) console.log(`error: ${e}`);
}
