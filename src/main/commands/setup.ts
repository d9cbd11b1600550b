import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type avro from 'avsc';
import { generateMasterData, loadMasterData } from '../../command/master-data.js';
import { checkCandidate } from '../../events/evolution.js';
import { syncSchemas } from '../../events/schema-sync.js';
import { inventoryUpcasters } from '../../events/upcasters/index.js';
import { subjectFor } from '../../events/serde.js';
import { ensureTopics, loadConnector } from '../../source/bridge.js';
import { connectorTopics, loadConnectors } from '../../source/connector.js';
import { describeReplication, replicationWarnings, type ClusterReplication } from '../../log/topics.js';
import { createPool } from '../../db/db.js';
import { ensureReaderRole, migrate } from '../../db/migrate.js';
import { packagePath } from '../../shared/package-root.js';
import type { CliContext } from '../cli-context.js';
import type { Clients } from '../clients.js';

/** Migrations, the API's read-only role and the master data: idempotent. */
export async function setupDatabase(clients: Clients) {
  const pool = clients.pool();
  // A migration may rewrite a large table: it runs on a connection of its own, without the
  // roles' statement bound (PG_QUERY_TIMEOUT_MS), which would cancel it and retry forever.
  const migrations = createPool(clients.config.databaseUrl, { max: 1, applicationName: 'pipeline-migrate', connectTimeoutMs: clients.config.pgConnectTimeoutMs });
  let result: Awaited<ReturnType<typeof migrate>>;
  try {
    result = await migrate(migrations, packagePath('migrations'), clients.logger);
  } finally {
    await migrations.end();
  }
  const reader = new URL(clients.config.apiDatabaseUrl);
  await ensureReaderRole(pool, decodeURIComponent(reader.username), decodeURIComponent(reader.password));
  const master = await loadMasterData(pool, generateMasterData());
  return { migrations: result, master: master.counts, masterLoaded: master.loaded };
}

/** Topics, schemas under the connector's topic, and the journal table. */
export async function setupStreams(clients: Clients) {
  // CONNECTOR_FILE may name several connectors (a list or a folder): each gets its topics and schemas.
  const connectors = loadConnectors(clients.config.connectorFile);
  const connector = connectors[0]!;
  const admin = clients.kafka().admin();
  await admin.connect();
  const created = new Set<string>();
  let replication: ClusterReplication;
  try {
    for (const c of connectors) {
      for (const t of await ensureTopics(admin, c, { replicationFactor: clients.config.topicReplicationFactor })) created.add(t);
    }
    // Read back what every topic got, created now or long ago: the operator's view of the truth.
    replication = await describeReplication(admin, [...new Set(connectors.flatMap(connectorTopics))]);
  } finally {
    await admin.disconnect();
  }
  let schemas: Awaited<ReturnType<typeof syncSchemas>> | undefined;
  for (const topic of new Set(connectors.map((c) => c.topic))) {
    const synced = await syncSchemas(clients.schemaStore(), clients.catalog(), topic);
    if (topic === connector.topic) schemas = synced;
  }
  // The journal table of the reference connector: other layouts' tables belong to their own writers.
  const streamArn = await clients.journal(connector.table).ensureTable();
  return { topic: connector.topic, schemas: schemas!, streamArn, replication, created, replicationWarnings: replicationWarnings(replication) };
}

/** One line per topic: its replicas, its min.insync.replicas, and whether this run created it. */
export function replicationLines(r: ClusterReplication, created: ReadonlySet<string>, asked: number | undefined): string[] {
  const how = asked === undefined ? "the brokers' default.replication.factor" : `TOPIC_REPLICATION_FACTOR=${asked}`;
  return [
    `kafka: ${r.brokers} broker(s); new topics get ${how}`,
    ...r.topics.map(
      (t) => `  topic ${t.topic}: replication factor ${t.replicationFactor}, min.insync.replicas ${t.minInsyncReplicas ?? '?'} (${created.has(t.topic) ? 'created' : 'existed'})`,
    ),
  ];
}

export function registerSetupCommands(program: Command, ctx: CliContext) {
  program
    .command('migrate')
    .description('apply database migrations, create the read-only API role, load master data')
    .action(async () => {
      const r = await setupDatabase(ctx.clients());
      console.log(`migrations applied: ${r.migrations.applied.join(', ') || 'none'} (${r.migrations.alreadyApplied} already applied)`);
      console.log(`master data ${r.masterLoaded ? 'loaded' : 'already loaded'}: ${JSON.stringify(r.master)}`);
    });

  program
    .command('setup')
    .description('migrate + topics + schemas + journal table: everything the pipeline needs before `run`')
    .action(async () => {
      const clients = ctx.clients();
      const db = await setupDatabase(clients);
      const s = await setupStreams(clients);
      console.log(`database: ${db.migrations.applied.length} migrations applied; master data ${JSON.stringify(db.master)}`);
      for (const line of replicationLines(s.replication, s.created, clients.config.topicReplicationFactor)) console.log(line);
      for (const w of s.replicationWarnings) console.log(`WARNING ${w}`);
      console.log(`topic ${s.topic}: ${s.schemas.filter((x) => x.action === 'registered').length} schema versions registered, ${s.schemas.length} in total`);
      console.log(`journal stream: ${s.streamArn}`);
    });

  const schemas = program.command('schemas').description('event schemas in the registry');
  schemas
    .command('register')
    .description('register every schema version under <topic>-<record name> with BACKWARD compatibility')
    .option('--topic <topic>', 'topic whose subjects to use (default: the connector topic)')
    .action(async (o: { topic?: string }) => {
      const clients = ctx.clients();
      const topic = o.topic ?? loadConnector(clients.config.connectorFile).topic;
      for (const r of await syncSchemas(clients.schemaStore(), clients.catalog(), topic)) {
        console.log(`${r.action.padEnd(10)} ${r.subject} v${r.version} id=${r.id}`);
      }
    });
  schemas
    .command('check <file>')
    .description('check an .avsc file against the evolution rule (an upcaster for what resolution cannot carry), then ask the registry whether it may become the next version of its subject')
    .option('--topic <topic>', 'topic whose subjects to use (default: the connector topic)')
    .action(async (file: string, o: { topic?: string }) => {
      const clients = ctx.clients();
      const topic = o.topic ?? loadConnector(clients.config.connectorFile).topic;
      const schema = JSON.parse(readFileSync(file, 'utf8')) as avro.Schema & { name: string; namespace?: string };
      const rule = checkCandidate(clients.catalog(), inventoryUpcasters, schema, file);
      console.log(rule.summary);
      if (!rule.accepted) process.exitCode = 2;
      const fullName = schema.name.includes('.') || !schema.namespace ? schema.name : `${schema.namespace}.${schema.name}`;
      const subject = subjectFor(topic, fullName);
      const r = await clients.schemaStore().isCompatible(subject, schema);
      console.log(`${subject}: ${r.compatible ? 'compatible' : 'INCOMPATIBLE'}${r.messages.length ? `\n  ${r.messages.join('\n  ')}` : ''}`);
      if (!r.compatible) process.exitCode = 2;
    });
  schemas
    .command('list')
    .description('subjects and versions in the registry')
    .action(async () => {
      const store = ctx.clients().schemaStore();
      for (const s of await store.subjects()) console.log(`${s}: ${(await store.versions(s)).join(', ')}`);
    });
}
