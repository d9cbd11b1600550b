import { Option, type Command } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { generateMasterData } from '../../command/master-data.js';
import { runWorkload, type WorkloadOptions, type WorkloadProfile, type WorkloadSummary } from '../../command/workload.js';
import { loadConnector } from '../../source/bridge.js';
import { positiveInt, share, type CliContext } from '../cli-context.js';
import type { Clients } from '../clients.js';
import { parseRoles, ROLES, startRoles, type RunningPipeline } from '../run.js';
import { errorCode, errorMessage } from '../../shared/errors.js';
import { redactConfig } from '../../config/secrets.js';
import { setupDatabase, setupStreams } from './setup.js';
import { retry } from '../../shared/retry.js';
import { statusLineOf } from '../../shared/logger.js';
import { startStatusLine } from '../../monitor/status-line.js';

/**
 * Runs until SIGTERM/SIGINT, then shuts down gracefully (in-flight batches
 * commit, leases are released, clients close) and exits.
 *
 * Shutdown is bounded by SHUTDOWN_TIMEOUT_MS from the signal to the exit of
 * the process, whatever is still running: an orchestrator SIGKILLs after its
 * own grace period anyway, and nothing depends on a clean stop for
 * correctness (transactions and PostgreSQL-held offsets make a cut-off stop
 * like kill -9: the next owner redoes the in-flight batch). Past the
 * deadline the process says which role hung and exits. The exit is explicit
 * even after a clean stop: a timer or socket left by a client library (a
 * kafkajs reconnect, an HTTP keep-alive) must not keep a stopped process
 * alive. A second signal exits at once.
 */
function onShutdownSignal(ctx: CliContext) {
  const aborted = new AbortController();
  const signalled = new Promise<string>((resolve) => {
    const on = (sig: string) => {
      aborted.abort();
      resolve(sig);
    };
    process.once('SIGTERM', () => on('SIGTERM'));
    process.once('SIGINT', () => on('SIGINT'));
  });
  let stopping: (() => string | undefined) | undefined;
  // The bound starts at the signal, even while the roles are still starting.
  void signalled.then((signal) => {
    const { logger, config } = ctx.clients();
    logger.info({ signal, graceMs: config.shutdownTimeoutMs }, 'shutting down');
    setTimeout(() => {
      logger.error(
        { role: stopping?.() ?? 'start-up', graceMs: config.shutdownTimeoutMs },
        'shutdown grace period expired; exiting without a clean stop of this role',
      );
      process.exit(0);
    }, config.shutdownTimeoutMs);
    const again = (sig: string) => {
      logger.warn({ signal: sig }, 'second signal: exiting at once');
      process.exit(130);
    };
    process.once('SIGTERM', () => again('SIGTERM'));
    process.once('SIGINT', () => again('SIGINT'));
  });
  return {
    signal: aborted.signal,
    /** Waits for the signal, stops the pipeline and the clients, and exits. */
    async untilSignal(pipeline: RunningPipeline, extra?: () => Promise<void>): Promise<never> {
      stopping = () => pipeline.stopping;
      await signalled;
      const started = Date.now();
      await extra?.();
      await pipeline.stop();
      pipeline.stopping = 'clients';
      await ctx.close();
      ctx.clients().logger.info({ tookMs: Date.now() - started }, 'stopped');
      process.exit(0);
    },
    /** A signal arrived while starting: nothing runs yet but the clients. */
    async exitNow(): Promise<never> {
      await ctx.close();
      process.exit(0);
    },
  };
}

interface LoadFlags {
  profile: WorkloadProfile;
  rate?: number;
  count?: number;
  duration?: number;
  inventories: number;
  seed: number;
  legacyShare: number;
  violationShare: number;
  conflictShare: number;
  concurrency: number;
  daySeconds: number;
  prefix?: string;
}

function addLoadOptions(cmd: Command) {
  return cmd
    .addOption(new Option('--profile <profile>', 'workload profile').choices(['business-day', 'peak', 'flat']).default('business-day'))
    .option('--rate <eventsPerSecond>', 'offered rate; 0 = flat out (default: from the profile)', positiveInt)
    .option('--count <events>', 'stop after this many events', positiveInt)
    .option('--duration <seconds>', 'stop after this long', positiveInt)
    .option('--inventories <n>', 'inventory aggregates to drive', positiveInt, 500)
    .option('--seed <n>', 'random seed (runs are repeatable)', positiveInt, 1)
    .option('--legacy-share <0..1>', 'share of events written at an older schema version', share, 0.1)
    .option('--violation-share <0..1>', 'share of inventories in a zone of the wrong type', share, 0.02)
    .option('--conflict-share <0..1>', 'share of commands raced by two writers', share, 0.01)
    .option('--concurrency <n>', 'concurrent writers', positiveInt, 8)
    .option('--day-seconds <n>', 'wall-clock seconds per simulated business day', positiveInt, 60)
    .option('--prefix <p>', 'inventory id prefix (default W<seed>)');
}

export async function runLoad(clients: Clients, o: LoadFlags, signal?: AbortSignal, onEvents?: (events: number) => void): Promise<WorkloadSummary> {
  const connector = loadConnector(clients.config.connectorFile);
  const journal = clients.journal(connector.table);
  await journal.ensureTable();
  // demo shows its own status line instead (onEvents).
  const bar = process.stdout.isTTY && !onEvents
    ? new SingleBar({ format: 'load |{bar}| {value}/{total} events | {rate} ev/s | conflicts {conflicts} | ETA {eta}s' }, Presets.shades_classic)
    : undefined;
  const target = o.count ?? 0;
  bar?.start(target || (o.duration ?? 0), 0, { rate: 0, conflicts: 0 });
  let lastLog = 0;
  const options: WorkloadOptions = {
    journal,
    ladder: clients.ladder(),
    master: generateMasterData(),
    profile: o.profile,
    inventories: o.inventories,
    seed: o.seed,
    legacyShare: o.legacyShare,
    violationShare: o.violationShare,
    conflictShare: o.conflictShare,
    concurrency: o.concurrency,
    dayMs: o.daySeconds * 1000,
    ...(o.rate !== undefined ? { rate: o.rate } : {}),
    ...(o.count !== undefined ? { count: o.count } : {}),
    ...(o.duration !== undefined ? { durationMs: o.duration * 1000 } : {}),
    ...(o.prefix ? { idPrefix: o.prefix } : {}),
    ...(signal ? { signal } : {}),
    onProgress: (p) => {
      onEvents?.(p.events);
      const rate = Math.round(p.events / Math.max(0.001, p.elapsedMs / 1000));
      if (bar) bar.update(target ? p.events : Math.round(p.elapsedMs / 1000), { rate, conflicts: p.conflictsRetried });
      else if (!onEvents && p.elapsedMs - lastLog > 5000) {
        lastLog = p.elapsedMs;
        clients.logger.info({ events: p.events, rate, conflictsRetried: p.conflictsRetried }, 'load progress');
      }
    },
  };
  if (!o.count && !o.duration) options.durationMs = 60_000;
  const summary = await runWorkload(options);
  bar?.stop();
  return summary;
}

export function registerRunCommands(program: Command, ctx: CliContext) {
  program
    .command('run')
    .description('run pipeline roles in this process until SIGTERM (default: all roles; env ROLES)')
    .option('--roles <list>', 'comma-separated subset of bridge,projector,views,monitor,api')
    .option('--setup', 'migrate, create topics, register schemas and create the journal first')
    .action(async (o: { roles?: string; setup?: boolean }) => {
      const clients = ctx.clients();
      const roles = o.roles ? parseRoles(o.roles) : clients.config.roles;
      const shutdown = onShutdownSignal(ctx);
      if (o.setup) {
        await setupDatabase(clients);
        await setupStreams(clients);
      }
      // Dependencies may still be starting (or restarting): wait for them rather than exit.
      let pipeline: RunningPipeline;
      try {
        pipeline = await retry(() => startRoles(clients, roles), {
          attempts: 40,
          initialDelayMs: 500,
          maxDelayMs: 5_000,
          // A refused bridge (its schemas cannot be registered) needs a person, not another attempt.
          retryOn: (err) => !shutdown.signal.aborted && errorCode(err) !== 'BRIDGE_REFUSED',
          signal: shutdown.signal,
          onRetry: (err, attempt) => clients.logger.warn({ err: errorMessage(err), attempt }, 'start failed (a dependency is not up yet?), retrying'),
        });
      } catch (err) {
        if (shutdown.signal.aborted) return shutdown.exitNow();
        throw err;
      }
      clients.logger.info({ roles, metricsPort: pipeline.metricsPort, apiPort: pipeline.apiPort }, 'pipeline running');
      await shutdown.untilSignal(pipeline);
    });

  addLoadOptions(program.command('load').description('drive inventory aggregates through the journal (load generator)')).action(
    async (o: LoadFlags) => {
      const s = await runLoad(ctx.clients(), o);
      console.log(JSON.stringify(s, null, 2));
    },
  );

  addLoadOptions(
    program
      .command('demo')
      .description('the main job: setup, all roles in one process, the business-day workload, and curl examples')
      .option('--exit-after <seconds>', 'stop by itself after this long (default: run until Ctrl-C)', positiveInt),
  ).action(async (o: LoadFlags & { exitAfter?: number }) => {
    const clients = ctx.clients();
    const shutdown = onShutdownSignal(ctx);
    const db = await setupDatabase(clients);
    const streams = await setupStreams(clients);
    console.log(`setup: ${db.migrations.applied.length} migrations, master data ${JSON.stringify(db.master)}, topic ${streams.topic}`);
    const pipeline = await startRoles(clients, ROLES);
    const api = `http://${clients.config.apiHost}:${pipeline.apiPort}`;
    const abort = new AbortController();
    // On a terminal a status line replaces the workload's progress bar and progress lines.
    const line = statusLineOf(clients.logger);
    let written = 0;
    const load = runLoad(clients, { ...o, duration: o.exitAfter ?? o.duration ?? 24 * 3600 }, abort.signal, line && ((n) => (written = n))).catch((err: unknown) => {
      clients.logger.error({ err: String(err) }, 'workload failed');
      return undefined;
    });
    console.log(`
pipeline running: bridge → ${streams.topic} → projector + views; lag monitor; API ${api}
metrics: http://127.0.0.1:${pipeline.metricsPort}/metrics   Prometheus: ${String(redactConfig(clients.config).prometheusUrl)}
try (data appears within seconds):
  curl -s '${api}/inventories?limit=3'
  curl -s '${api}/views/stock-by-warehouse-zone'
  curl -s '${api}/views/daily-movements?from=2020-01-01&to=2100-01-01'
  curl -s '${api}/alerts/low-stock?status=open'
  curl -s '${api}/lag'
  curl -s '${api}/openapi.json'
Ctrl-C stops everything gracefully.`);
    const status = line && startStatusLine({ line, metricsPort: pipeline.metricsPort, groupPrefix: clients.config.groupPrefix, written: () => written });
    if (o.exitAfter) setTimeout(() => process.kill(process.pid, 'SIGTERM'), o.exitAfter * 1000).unref();
    await shutdown.untilSignal(pipeline, async () => {
      status?.stop();
      abort.abort();
      const summary = await load;
      if (summary) console.log(`workload: ${summary.events} events at ${summary.ratePerSecond.toFixed(1)}/s, ${summary.conflictsRetried} conflicts retried`);
    });
  });
}
