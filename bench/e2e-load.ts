/**
 * The load generator of bench/e2e-latency.ts, in its own process so that its
 * CPU is measured apart from the pipeline's and the probe's: the project's
 * `flat` workload (src/command/workload.ts, the same code as `cli load`) at a
 * fixed offered rate, printing its cumulative appended events every ~250 ms
 * (`P <epoch ms> <events>`) and a summary line at the end (`S <json>`), so the
 * bench can follow the journal's accepted rate over time. `R <epoch ms>` says
 * it is about to write; the CPU it reports (`cpuSeconds`) is counted from there.
 *
 *   node --import tsx bench/e2e-load.ts <table> <rate> <seconds> <inventories> <concurrency> <prefix> [count]
 *
 * Rate 0 is flat out; a count stops it after that many events.
 */
import { loadConfig } from '../src/config/config.js';
import { runWorkload } from '../src/command/workload.js';
import { generateMasterData } from '../src/command/master-data.js';
import { createClients } from '../src/main/clients.js';
import { silentLogger } from '../src/shared/logger.js';

const [table, rate, seconds, inventories, concurrency, prefix, count] = process.argv.slice(2);
if (!table || !rate || !seconds || !inventories || !concurrency || !prefix) {
  console.error('usage: e2e-load.ts <table> <rate> <seconds> <inventories> <concurrency> <prefix> [count]');
  process.exit(2);
}
const clients = createClients(loadConfig(), silentLogger());
const master = generateMasterData();
const cpuAtStart = process.cpuUsage();
process.stdout.write(`R ${Date.now()}\n`);
try {
  const summary = await runWorkload({
    journal: clients.journal(table),
    ladder: clients.ladder(),
    master,
    profile: 'flat',
    rate: Number(rate),
    durationMs: Number(seconds) * 1000,
    ...(count ? { count: Number(count) } : {}),
    inventories: Number(inventories),
    concurrency: Number(concurrency),
    idPrefix: prefix,
    onProgress: (p) => process.stdout.write(`P ${Date.now()} ${p.events}\n`),
  });
  const used = process.cpuUsage(cpuAtStart);
  process.stdout.write(`P ${Date.now()} ${summary.events}\nS ${JSON.stringify({ ...summary, cpuSeconds: (used.user + used.system) / 1e6 })}\n`);
} finally {
  await clients.close();
}
