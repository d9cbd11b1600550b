/**
 * Waits until each named server of the stack answers a real request:
 * Kafka a metadata call that lists every node (STACK_PROBE_KAFKA_NODES, 1 by
 * default: a cluster is ready when all its brokers are), DynamoDB a ListTables, PostgreSQL a SELECT 1, the
 * registry a subjects list, Prometheus its readiness endpoint.
 * Prints the names of those that never answered (stdout) and exits 1 if any.
 *
 *   node --import tsx scripts/stack-probe.ts --timeout 120 kafka registry dynamodb postgres prometheus
 */
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import pg from 'pg';
import { loadConfig, type Config } from '../src/config/config.js';
import { createKafka } from '../src/log/kafka.js';
import { createDynamo } from '../src/source/dynamodb.js';
import { silentLogger } from '../src/shared/logger.js';
import { sleep } from '../src/shared/retry.js';

type Probe = (c: Config) => Promise<void>;

const probes: Record<string, Probe> = {
  async kafka(c) {
    // Every node is asked on its own address: a broker restarted within the
    // controller's session timeout is still listed by the others (its old
    // incarnation, not yet fenced), but lists the whole cluster itself only
    // once it has caught up and been unfenced.
    const nodes = Number(process.env.STACK_PROBE_KAFKA_NODES ?? 1);
    for (const broker of c.kafkaBrokers) {
      const admin = createKafka(
        { brokers: [broker], clientId: 'stack-probe', ssl: c.kafkaSsl, saslMechanism: c.kafkaSaslMechanism, saslUsername: c.kafkaSaslUsername, saslPassword: c.kafkaSaslPassword },
        silentLogger(),
      ).admin({ retry: { retries: 0 } });
      await admin.connect();
      try {
        const { brokers } = await admin.describeCluster();
        if (brokers.length < nodes) throw new Error(`${broker} sees ${brokers.length} of ${nodes} brokers (${brokers.map((b) => b.nodeId).join(', ')})`);
        await admin.listTopics();
      } finally {
        await admin.disconnect();
      }
    }
  },
  async dynamodb(c) {
    const ddb = createDynamo({ endpoint: c.dynamodbEndpoint, region: c.awsRegion, accessKeyId: c.awsAccessKeyId, secretAccessKey: c.awsSecretAccessKey });
    try {
      await ddb.send(new ListTablesCommand({ Limit: 1 }));
    } finally {
      ddb.destroy();
    }
  },
  async postgres(c) {
    // The pipeline database may not exist yet on a first start: ask the maintenance db.
    const u = new URL(c.databaseUrl);
    u.pathname = '/postgres';
    const client = new pg.Client({ connectionString: u.toString(), connectionTimeoutMillis: 3000 });
    await client.connect();
    try {
      await client.query('select 1');
    } finally {
      await client.end();
    }
  },
  async registry(c) {
    const res = await fetch(`${c.schemaRegistryUrl}/subjects`, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) throw new Error(`registry answered ${res.status}`);
    await res.json();
  },
  async prometheus(c) {
    const res = await fetch(`${c.prometheusUrl}/-/ready`, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) throw new Error(`prometheus answered ${res.status}`);
  },
};

async function main() {
  const args = process.argv.slice(2);
  let timeoutS = 120;
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--timeout') timeoutS = Number(args[++i]);
    else names.push(args[i]!);
  }
  const config = loadConfig();
  const deadline = Date.now() + timeoutS * 1000;
  const results = await Promise.all(
    names.map(async (name) => {
      const probe = probes[name];
      if (!probe) return { name, error: 'unknown service' };
      let last = '';
      while (Date.now() < deadline) {
        try {
          await probe(config);
          return { name, error: undefined };
        } catch (err) {
          last = err instanceof Error ? err.message : String(err);
          await sleep(500);
        }
      }
      return { name, error: last };
    }),
  );
  const failed = results.filter((r) => r.error !== undefined);
  for (const f of failed) process.stderr.write(`[probe] ${f.name}: ${f.error}\n`);
  process.stdout.write(failed.map((f) => f.name).join(' '));
  process.exitCode = failed.length > 0 ? 1 : 0;
}

await main();
