import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KAFKAJS_PATCH_MARK, KAFKAJS_PATCHED_FILES } from '../../src/log/kafkajs-patches.js';
import { readJournal, waitForProjector } from '../helpers/assertions.js';
import { freePort } from '../helpers/pipeline-env.js';
import { spawnProcess, writeConnector, type CliProcess } from '../helpers/process.js';
import { createTestDatabase, eventually, uniqueName, type TestDatabase } from '../helpers/stack.js';

const run = promisify(execFile);

/**
 * The package as an operator gets it: `npm pack` (which builds dist/),
 * installed into an empty folder with production dependencies only, and its
 * `ddb-cdc-pipeline` binary run from another folder — no tsx, no TypeScript,
 * no checkout. `setup` and every role in one process against the stack,
 * until the API answers from the views; then SIGTERM stops it cleanly.
 *
 * npm and the binary run on the Node of this test (its folder first on
 * PATH): Node 24 under `npm test`, whatever the machine has.
 */
describe('the packed package, installed and run from dist/', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'pkg-install-'));
  const installDir = path.join(work, 'app');
  const runDir = path.join(work, 'elsewhere');
  const pkgDir = path.join(installDir, 'node_modules', 'ddb-cdc-pipeline');
  const bin = path.join(installDir, 'node_modules', '.bin', 'ddb-cdc-pipeline');
  // npm's own variables (npm_config_local_prefix, ...) would point a nested npm at this checkout.
  const baseEnv = Object.fromEntries(
    Object.entries({ ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` }).filter(
      (e): e is [string, string] => !e[0].toLowerCase().startsWith('npm_') && e[1] !== undefined,
    ),
  );
  const npm = (args: string[], cwd: string) => run('npm', args, { cwd, env: baseEnv, maxBuffer: 16 * 1024 * 1024 });
  const cli = (args: string[], env: Record<string, string> = {}) => run(bin, args, { cwd: runDir, env: { ...baseEnv, ...env } });
  /** The environment without the settings whose defaults are checked. */
  const unset = (...names: string[]) => Object.fromEntries(Object.entries(baseEnv).filter(([k]) => !names.includes(k)));
  let db: TestDatabase | undefined;
  const procs: CliProcess[] = [];

  beforeAll(async () => {
    const packed = await npm(['pack', '--silent', '--pack-destination', work], process.cwd());
    const tarball = path.join(work, packed.stdout.trim().split('\n').pop()!);
    mkdirSync(installDir);
    mkdirSync(runDir);
    // The deployment guide's install: a folder of its own whose package.json approves this package's postinstall (the kafkajs patches).
    const app = { private: true, dependencies: { 'ddb-cdc-pipeline': `file:${tarball}` }, allowScripts: { [`file:${tarball}`]: true, protobufjs: false } };
    writeFileSync(path.join(installDir, 'package.json'), JSON.stringify(app, null, 2));
    const installed = await npm(['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], installDir);
    expect(installed.stderr).not.toMatch(/not yet covered by allowScripts/);
  }, 300_000);

  afterAll(async () => {
    for (const p of procs) await p.kill9().catch(() => undefined);
    await db?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it('holds dist/ and what it reads at run time, without dev dependencies, with kafkajs patched where it landed', async () => {
    expect(existsSync(path.join(pkgDir, 'dist/main/cli.js'))).toBe(true);
    for (const d of ['migrations', 'schemas/inventory', 'connectors']) expect(existsSync(path.join(pkgDir, d)), d).toBe(true);
    for (const dev of ['tsx', 'typescript', 'vitest', 'eslint', 'src']) {
      expect(existsSync(path.join(installDir, 'node_modules', dev)) || existsSync(path.join(pkgDir, dev)), dev).toBe(false);
    }
    const kafkajs = path.dirname(createRequire(path.join(pkgDir, 'package.json')).resolve('kafkajs/package.json'));
    for (const f of KAFKAJS_PATCHED_FILES) expect(readFileSync(path.join(kafkajs, f), 'utf8'), f).toContain(KAFKAJS_PATCH_MARK);

    const version = (JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
    expect((await cli(['--version'])).stdout.trim()).toBe(version);
    // From another working directory, the defaults name the package's own files.
    const config = JSON.parse((await run(bin, ['config'], { cwd: runDir, env: unset('CONNECTOR_FILE', 'PROMETHEUS_TARGETS_DIR') })).stdout) as {
      connectorFile: string;
      prometheusTargetsDir: string;
    };
    expect(config.connectorFile).toBe(path.join(pkgDir, 'connectors/journal.json'));
    expect(config.prometheusTargetsDir).toBe('');
  });

  it('runs setup, then every role in one process until the API answers, and stops cleanly on SIGTERM', async () => {
    db = await createTestDatabase('pkg');
    const topic = uniqueName('pkg.events');
    const table = uniqueName('pkg-journal');
    const reader = uniqueName('reader').replaceAll('-', '_');
    const readerUrl = new URL(db.url);
    readerUrl.username = reader;
    readerUrl.password = 'reader-password';
    const apiPort = await freePort();
    const api = `http://127.0.0.1:${apiPort}`;
    const env = {
      DATABASE_URL: db.url,
      API_DATABASE_URL: readerUrl.toString(),
      CONNECTOR_FILE: writeConnector(table, topic),
      GROUP_PREFIX: `${uniqueName('pkg')}.`,
      API_PORT: String(apiPort),
      LAG_POLL_INTERVAL_MS: '1000',
      SHUTDOWN_TIMEOUT_MS: '15000',
    };

    const setup = await cli(['setup'], env);
    const migrations = readdirSync('migrations').filter((f) => /^\d{4}_.*\.sql$/.test(f)).length;
    expect(setup.stdout).toMatch(new RegExp(`database: ${migrations} migrations applied`));
    expect(setup.stdout).toMatch(new RegExp(`topic ${topic.replaceAll('.', '\\.')}: \\d+ schema versions registered`));

    const pipeline = spawnProcess(bin, ['run', '--roles', 'bridge,projector,views,api,monitor'], { ...env, LOG_LEVEL: 'info', LOG_FORMAT: 'json' }, { cwd: runDir });
    procs.push(pipeline);
    const tail = () => pipeline.output().slice(-4000);
    await eventually(async () => ((await fetch(`${api}/readyz`).catch(() => undefined))?.ok ? true : undefined), 90_000, 500).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${tail()}`);
    });

    const load = await cli(['load', '--profile', 'flat', '--rate', '0', '--count', '120', '--inventories', '12', '--seed', '24', '--prefix', 'PKG'], env);
    expect((JSON.parse(load.stdout) as { events: number }).events).toBeGreaterThanOrEqual(120);
    const { marks } = await readJournal(table);
    await waitForProjector(db.pool, marks, 90_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${tail()}`);
    });
    const { rows } = await db.pool.query<{ persistence_id: string; on_hand: number }>('select persistence_id, on_hand from inventories order by persistence_id limit 1');
    const res = await fetch(`${api}/inventories/${encodeURIComponent(rows[0]!.persistence_id)}`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { onHand: number }).onHand).toBe(Number(rows[0]!.on_hand));
    expect((await fetch(`${api}/views/stock-by-warehouse-zone`)).status).toBe(200);

    // The operations commands, from dist/ too.
    const lag = JSON.parse((await cli(['lag', '--json'], env)).stdout) as unknown;
    expect(JSON.stringify(lag)).toContain(`${env.GROUP_PREFIX}inventory-projector`);
    expect((await cli(['integrity'], env)).stdout).toMatch(/"findings":0,/);
    expect((await cli(['dlq', 'list', '--group', 'cdc-bridge'], env)).stdout).toMatch(/0 dead letters in /);

    const t0 = Date.now();
    expect(await pipeline.terminate(), tail()).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(pipeline.exitedUnexpectedly()).toBe(false);
    const out = pipeline.output();
    expect(out).toMatch(/"msg":"stopped"/);
    expect(out.split('\n').filter((l) => /"level":(5|6)\d/.test(l))).toEqual([]);
    // Node's own warnings (a deprecation, kafkajs' negative timer on Node 24) on the process's stderr.
    expect(out).not.toMatch(/\(node:\d+\) \w*Warning/);
  });
});
