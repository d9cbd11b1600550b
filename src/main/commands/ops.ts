import type { Command } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { Registry } from 'prom-client';
import { checkIntegrity } from '../../consumers/integrity.js';
import { createInventoryProjector, INVENTORY_PROJECTOR_GROUP } from '../../consumers/projectors/inventory-projector.js';
import { rebuildView, type RebuildProgress } from '../../consumers/rebuild.js';
import { createLagMonitor } from '../../monitor/lag-monitor.js';
import type { LagSnapshot } from '../../monitor/lag-snapshot.js';
import { loadConnector } from '../../source/bridge.js';
import type { CliContext } from '../cli.js';
import { viewsRebuildSpec } from '../views-role.js';

function progressPrinter() {
  const bar = process.stdout.isTTY
    ? new SingleBar({ format: 'rebuild |{bar}| {value}/{total} offsets | {rate} ev/s | ETA {etaText}' }, Presets.shades_classic)
    : undefined;
  let started = false;
  let lastLog = 0;
  return {
    update(p: RebuildProgress) {
      const etaText = p.etaSeconds === undefined ? '?' : `${Math.round(p.etaSeconds)}s`;
      if (bar) {
        if (!started) bar.start(p.total, p.done, { rate: 0, etaText });
        started = true;
        bar.setTotal(p.total);
        bar.update(p.done, { rate: Math.round(p.eventsPerSecond), etaText });
      } else if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        const parts = p.partitions.map((x) => `p${x.partition}:${x.done}/${x.total}`).join(' ');
        console.log(`rebuild ${p.done}/${p.total} (${Math.round(p.eventsPerSecond)} ev/s, ETA ${etaText}) ${parts}`);
      }
    },
    stop: () => bar?.stop(),
  };
}

export function registerOpsCommands(program: Command, ctx: CliContext) {
  program
    .command('integrity')
    .description("compare each inventory's journal max sequence number with the read model's (and repair)")
    .option('--repair', 'apply what the read model misses, from the journal')
    .action(async (o: { repair?: boolean }) => {
      const clients = ctx.clients();
      const connector = loadConnector(clients.config.connectorFile);
      const journal = clients.journal(connector.table);
      const serde = clients.serde(connector.topic);
      const groupId = `${clients.config.groupPrefix}${INVENTORY_PROJECTOR_GROUP}`;
      const projector = createInventoryProjector({ journal, serde, pool: clients.pool(), logger: clients.logger, groupId });
      const report = await checkIntegrity({
        ddb: clients.ddb(),
        table: connector.table,
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
    .description('rebuild inventory-projector or inventory-views from offset 0 into shadow tables and swap atomically')
    .option('--restart', 'discard a previous, unfinished rebuild instead of resuming it')
    .action(async (view: string, o: { restart?: boolean }) => {
      const clients = ctx.clients();
      const connector = loadConnector(clients.config.connectorFile);
      const serde = clients.serde(connector.topic);
      const journal = clients.journal(connector.table);
      const progress = progressPrinter();
      const common = {
        kafka: clients.kafka(),
        pool: clients.pool(),
        topic: connector.topic,
        serde,
        logger: clients.logger,
        metrics: new Registry(),
        restart: o.restart ?? false,
        onProgress: (p: RebuildProgress) => progress.update(p),
      };
      let result;
      if (view === INVENTORY_PROJECTOR_GROUP) {
        const liveGroup = `${clients.config.groupPrefix}${INVENTORY_PROJECTOR_GROUP}`;
        result = await rebuildView({
          ...common,
          liveGroup,
          tables: [{ live: 'inventories' }, { live: 'inventory_movements' }],
          makeHandler: (names) =>
            createInventoryProjector({
              journal,
              serde,
              pool: clients.pool(),
              logger: clients.logger,
              groupId: `${liveGroup}.rebuild`,
              tables: { inventories: names.inventories!, movements: names.inventory_movements! },
            }),
        });
      } else {
        const spec = viewsRebuildSpec(view, { clients, serde, journal });
        if (!spec) throw new Error(`unknown view ${view}: use inventory-projector or inventory-views`);
        result = await rebuildView({ ...common, ...spec });
      }
      progress.stop();
      console.log(`rebuilt ${view}: ${result.events} offsets in ${(result.durationMs / 1000).toFixed(1)} s`);
    });

  program
    .command('lag')
    .description('print consumer lag and status of every group, once')
    .option('--json', 'print the JSON snapshot')
    .action(async (o: { json?: boolean }) => {
      const clients = ctx.clients();
      const monitor = createLagMonitor({ kafka: clients.kafka(), pool: clients.pool(), groups: 'all', registry: new Registry(), logger: clients.logger, pollIntervalMs: 1000 });
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
  console.log(`${'group'.padEnd(44)} ${'status'.padEnd(7)} ${'sum lag'.padStart(9)} ${'max lag'.padStart(9)} ${'max s'.padStart(8)}  reason`);
  for (const g of snap.groups) {
    const st = g.storedStatus ?? g.status;
    console.log(
      `${g.group.padEnd(44)} ${String(st?.status ?? '-').padEnd(7)} ${String(g.sumLag).padStart(9)} ${String(g.maxLag).padStart(9)} ${g.maxLagSeconds.toFixed(1).padStart(8)}  ${st?.detail ?? ''}`,
    );
  }
  for (const e of snap.errors) console.log(`error: ${e}`);
}
