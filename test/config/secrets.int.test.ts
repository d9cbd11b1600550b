import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/pipeline-env.js';
import { spawnCli, writeConnector, type CliProcess } from '../helpers/process.js';
import { config, createTestDatabase, eventually, kafka, uniqueName, type TestDatabase } from '../helpers/stack.js';

/**
 * Secrets never leave the process (issue 20). Every secret setting gets a
 * recognisable value that still works against the local stack: PostgreSQL
 * checks passwords (scram), so the writer and the API reader are roles of
 * this test with secret passwords; the other servers do not check theirs
 * (SASL mechanism none, Apicurio without auth, DynamoDB Local). Each role runs
 * as its own process through the CLI at LOG_LEVEL=trace, with `config`,
 * `setup` and `load`; then a little traffic (API with the key, a wrong key,
 * a cursor page, /lag, every /metrics) and failed connections (PostgreSQL and
 * the registry on a closed port, with secrets in their URLs). No secret value
 * may appear in anything a process wrote or served.
 */
describe('secrets never leave the process', () => {
  const tag = `S3CRET${randomBytes(4).toString('hex')}`;
  const secrets = {
    writerPassword: `${tag}-writer-pw`,
    readerPassword: `${tag}-reader-pw`,
    apiKey: `${tag}-api-key-0123456789`,
    cursorSecret: `${tag}-cursor-hmac`,
    saslPassword: `${tag}-sasl-pw`,
    registryPassword: `${tag}-registry-pw`,
    awsSecret: `${tag}-aws-secret`,
    prometheusPassword: `${tag}-prom-pw`,
    deadDbPassword: `${tag}-dead-db-pw`,
    deadRegistryPassword: `${tag}-dead-registry-pw`,
  };
  const topic = uniqueName('secrets.events');
  const table = uniqueName('secrets-journal');
  const prefix = `${uniqueName('sec')}.`;
  const writer = uniqueName('w').replaceAll('-', '_').toLowerCase();
  const reader = uniqueName('r').replaceAll('-', '_').toLowerCase();
  const admin = () => new pg.Client({ connectionString: config.databaseUrl });
  const procs: CliProcess[] = [];
  const served: { what: string; body: string }[] = [];
  let db: TestDatabase;
  let env: Record<string, string>;
  let api: string;

  const cli = (args: string[], extra: Record<string, string> = {}) => {
    const p = spawnCli(args, { ...env, ...extra });
    procs.push(p);
    return p;
  };
  const get = async (what: string, url: string, headers: Record<string, string> = {}) => {
    const res = await fetch(url, { headers });
    const body = await res.text();
    served.push({ what: `${what} ${res.status}`, body });
    return { status: res.status, body, type: res.headers.get('content-type') ?? '' };
  };
  const auth = { authorization: `Bearer ${secrets.apiKey}` };
  const metricsPortOf = (p: CliProcess) => Number(/"metricsPort":(\d+)[^\n]*"msg":"pipeline running"/.exec(p.output())?.[1] ?? NaN);

  beforeAll(async () => {
    db = await createTestDatabase('secrets');
    const c = admin();
    await c.connect();
    try {
      await c.query(`create role ${writer} login createrole password '${secrets.writerPassword}'`);
      const dbName = new URL(db.url).pathname.slice(1);
      await c.query(`alter database "${dbName}" owner to ${writer}`);
    } finally {
      await c.end();
    }
    const writerUrl = new URL(db.url);
    writerUrl.username = writer;
    writerUrl.password = secrets.writerPassword;
    const readerUrl = new URL(writerUrl);
    readerUrl.username = reader;
    readerUrl.password = secrets.readerPassword;
    const apiPort = await freePort();
    api = `http://127.0.0.1:${apiPort}`;
    env = {
      LOG_LEVEL: 'trace',
      DATABASE_URL: writerUrl.toString(),
      API_DATABASE_URL: readerUrl.toString(),
      KAFKA_SASL_MECHANISM: 'none',
      KAFKA_SASL_USERNAME: 'pipeline',
      KAFKA_SASL_PASSWORD: secrets.saslPassword,
      SCHEMA_REGISTRY_USERNAME: 'pipeline',
      SCHEMA_REGISTRY_PASSWORD: secrets.registryPassword,
      AWS_SECRET_ACCESS_KEY: secrets.awsSecret,
      PROMETHEUS_URL: `http://prometheus:${secrets.prometheusPassword}@127.0.0.1:9090`,
      API_KEYS: `ops:${secrets.apiKey}:200`,
      API_CURSOR_SECRET: secrets.cursorSecret,
      API_PORT: String(apiPort),
      CONNECTOR_FILE: writeConnector(table, topic),
      GROUP_PREFIX: prefix,
      LAG_POLL_INTERVAL_MS: '1000',
    };
  });

  afterAll(async () => {
    for (const p of procs) await p.kill9().catch(() => undefined);
    const kafkaAdmin = kafka('secrets-cleanup').admin();
    await kafkaAdmin.connect();
    const { groups } = await kafkaAdmin.listGroups();
    await kafkaAdmin.deleteGroups(groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix))).catch(() => undefined);
    await kafkaAdmin.disconnect();
    await db?.drop().catch(() => undefined);
    const c = admin();
    await c.connect();
    for (const role of [reader, writer]) await c.query(`drop role if exists ${role}`).catch(() => undefined);
    await c.end();
  });

  it('no secret value in any output or response of config, setup, load, every role, traffic and failed connections', async () => {
    // config: masked, with the key's name and rate still readable.
    const shown = cli(['config']);
    expect(await shown.exited, shown.output()).toBe(0);
    expect(shown.output()).toContain('"apiKeys": "ops:***:200"');
    expect(shown.output()).toContain(`"databaseUrl": "postgres://${writer}:***@`);

    // setup as the secret writer (migrations, the secret reader role, topics, schemas with basic auth, journal).
    const setup = cli(['setup']);
    expect(await setup.exited, setup.output()).toBe(0);
    expect(setup.output()).toMatch(/"level":(10|20)/); // trace/debug lines were written, not just silence

    // Every role as its own process; the API with the monitor so /lag answers.
    const roles = ['bridge', 'projector', 'views', 'monitor,api'].map((r) => ({ role: r, p: cli(['run', '--roles', r]) }));
    const load = cli(['load', '--profile', 'flat', '--rate', '0', '--count', '80', '--inventories', '24', '--concurrency', '4', '--seed', '7', '--prefix', 'SEC']);
    expect(await load.exited, load.output()).toBe(0);

    const apiProc = roles.at(-1)!.p;
    const page = await eventually(
      async () => {
        const r = await fetch(`${api}/inventories?limit=2`, { headers: auth }).catch(() => undefined);
        if (r?.status !== 200) return undefined;
        const body = (await r.json()) as { data: unknown[]; nextCursor?: string | null };
        return body.data.length === 2 && body.nextCursor ? body : undefined;
      },
      90_000,
      500,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${apiProc.output().slice(-2000)}\n${roles[1]!.p.output().slice(-2000)}`);
    });

    // A little traffic: the key, a cursor page, problem+json errors, /lag, /metrics of every process.
    expect((await get('inventories', `${api}/inventories?limit=2`, auth)).status).toBe(200);
    expect((await get('next page', `${api}/inventories?limit=2&cursor=${encodeURIComponent(page.nextCursor!)}`, auth)).status).toBe(200);
    const noKey = await get('no key', `${api}/inventories`);
    expect([noKey.status, noKey.type]).toEqual([401, 'application/problem+json']);
    const wrongKey = await get('wrong key', `${api}/inventories`, { authorization: `Bearer ${secrets.apiKey.slice(0, -1)}X` });
    expect([wrongKey.status, wrongKey.type]).toEqual([401, 'application/problem+json']);
    const badCursor = await get('bad cursor', `${api}/inventories?cursor=not-a-cursor`, auth);
    expect(badCursor.status).toBe(400);
    const lag = await eventually(async () => {
      const r = await get('lag', `${api}/lag`, auth);
      return r.status === 200 && r.body.includes(prefix) ? r : undefined;
    }, 60_000, 1000);
    expect(lag.body).toContain('inventory-projector');
    await get('openapi', `${api}/openapi.json`);
    await get('api metrics', `${api}/metrics`);
    for (const { role, p } of roles) {
      const port = await eventually(async () => (Number.isFinite(metricsPortOf(p)) ? metricsPortOf(p) : undefined), 30_000);
      const m = await get(`${role} /metrics`, `http://127.0.0.1:${port}/metrics`);
      expect(m.status).toBe(200);
      expect(m.body).toMatch(/^# HELP/m);
    }

    // Failed connections with secrets in their URLs: PostgreSQL on a closed port (a role that retries
    // and logs it, and a migrate that gives up); the registry on a closed port with user:password in its URL.
    const closed = await freePort();
    const deadDb = `postgres://${writer}:${secrets.deadDbPassword}@127.0.0.1:${closed}/nowhere`;
    const retrying = cli(['run', '--roles', 'projector'], { DATABASE_URL: deadDb });
    await eventually(async () => (retrying.output().includes(`ECONNREFUSED 127.0.0.1:${closed}`) ? true : undefined), 60_000, 500).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${retrying.output().slice(-2000)}`);
    });
    const migrate = cli(['migrate'], { DATABASE_URL: deadDb });
    expect(await migrate.exited).toBe(1);
    expect(migrate.output()).toMatch(/ECONNREFUSED/);
    const registry = cli(['schemas', 'list'], {
      SCHEMA_REGISTRY_URL: `http://pipeline:${secrets.deadRegistryPassword}@127.0.0.1:${closed}/apis/ccompat/v7`,
      SCHEMA_REGISTRY_USERNAME: '',
      SCHEMA_REGISTRY_PASSWORD: '',
    });
    expect(await registry.exited).toBe(1);
    expect(registry.output()).toMatch(/registry GET \/subjects failed/);

    for (const { p } of roles) expect(await p.terminate()).toBe(0);
    await retrying.terminate(); // gracefully, so it leaves the group and afterAll can delete it

    // Nothing written or served holds a secret, in any spelling it could take.
    const forms = Object.values(secrets).flatMap((s) => [s, encodeURIComponent(s), Buffer.from(s).toString('base64')]);
    forms.push(Buffer.from(`pipeline:${secrets.registryPassword}`).toString('base64'));
    const leaks: string[] = [];
    procs.forEach((p, i) => {
      for (const f of forms) if (p.output().includes(f)) leaks.push(`process #${i} (${p.child.spawnargs.slice(4).join(' ')}) wrote ${f}`);
    });
    for (const s of served) for (const f of forms) if (s.body.includes(f)) leaks.push(`${s.what} served ${f}`);
    expect(leaks).toEqual([]);
    // ...while the same lines did carry the masked settings, so the check looked at real output.
    expect(procs.reduce((n, p) => n + p.output().length, 0)).toBeGreaterThan(10_000);
    expect(roles[0]!.p.output()).toContain('"apiKeys":"ops:***:200"');
  });
});
