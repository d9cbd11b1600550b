import { existsSync } from 'node:fs';
import { z } from 'zod';
import { packagePath } from '../shared/package-root.js';
import { secretKinds, type SecretKind } from '../shared/redact.js';

/**
 * The one configuration schema of the pipeline. Every key has its environment
 * variable, a default that works against the local stack (`npm run stack -- up`)
 * and a line of documentation; the configuration table of docs/configuration.md
 * is generated from this list (`npm run cli -- config --markdown`,
 * scripts/config-doc.ts), so the two cannot drift.
 *
 * Only entry points (src/main) call {@link loadConfig}; everything else
 * receives the parts it needs as arguments. Each secret setting says which
 * part of it is a credential; config/secrets.ts masks them from this table.
 */

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/** An integer, or empty for "not set" (undefined). */
const optionalInt = (min: number, max: number) => z.union([z.literal(''), int(min, max)]).transform((v) => (v === '' ? undefined : v));
const url = z.string().url();
/** Comma-separated list, blanks dropped; empty string = empty list. */
const list = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x.length > 0));
const csv = list.pipe(z.array(z.string()).min(1));

export interface Entry<T extends z.ZodTypeAny> {
  env: string;
  schema: T;
  default: string | undefined;
  doc: string;
  secret?: SecretKind;
  /**
   * The value used when the variable is not set, computed from `default`:
   * a path inside this package is resolved from the package's root (a
   * checkout, or the installed package), not from the working directory.
   */
  resolveDefault?: (def: string) => string;
}

function entry<T extends z.ZodTypeAny>(
  env: string,
  schema: T,
  def: string | undefined,
  doc: string,
  secret?: SecretKind,
): Entry<T> {
  return { env, schema, default: def, doc, ...(secret ? { secret } : {}) };
}

/** The default is a path inside this package (an operator's own value stays relative to the working directory). */
const inPackage = <T extends z.ZodTypeAny>(e: Entry<T>): Entry<T> => ({ ...e, resolveDefault: (def) => packagePath(def) });

/** The default is a folder of this checkout's local stack, used only when that folder exists (an installed package has none). */
const inPackageIfPresent = <T extends z.ZodTypeAny>(e: Entry<T>): Entry<T> => ({
  ...e,
  resolveDefault: (def) => (existsSync(packagePath(def)) ? packagePath(def) : ''),
});

export const configEntries = {
  // --- Kafka / Redpanda
  kafkaBrokers: entry('KAFKA_BROKERS', csv, '127.0.0.1:9092', 'Comma-separated bootstrap brokers.'),
  kafkaClientId: entry('KAFKA_CLIENT_ID', z.string().min(1), 'ddb-cdc-pipeline', 'Kafka client id prefix.'),
  kafkaSsl: entry('KAFKA_SSL', bool, 'false', 'Use TLS to the brokers (hosted Redpanda / MSK).'),
  kafkaSaslMechanism: entry(
    'KAFKA_SASL_MECHANISM',
    z.enum(['none', 'plain', 'scram-sha-256', 'scram-sha-512']),
    'none',
    'SASL mechanism for the brokers.',
  ),
  kafkaSaslUsername: entry('KAFKA_SASL_USERNAME', z.string(), '', 'SASL user name.'),
  kafkaSaslPassword: entry('KAFKA_SASL_PASSWORD', z.string(), '', 'SASL password.', 'value'),
  bridgeKafkaClient: entry(
    'BRIDGE_KAFKA_CLIENT',
    z.enum(['kafkajs', 'confluent']),
    'kafkajs',
    "Kafka client of the CDC bridge's producer: kafkajs (patched 2.2.4), or confluent (@confluentinc/kafka-javascript on librdkafka, built by `scripts/stack.sh install --kafka-client confluent`; a bridge configured for it refuses to start without it). Consumers, admin and the checkpoint reader use kafkajs either way. See docs/decisions/0007-kafka-client-confluent-evaluation.md.",
  ),
  topicReplicationFactor: entry(
    'TOPIC_REPLICATION_FACTOR',
    optionalInt(1, 10),
    '',
    "Replication factor of topics created by the pipeline (event topics, DLQs, the checkpoint topic); empty = the brokers' default.replication.factor. `setup` prints what each topic got and warns, on a cluster of 3 or more brokers, about a topic with fewer than 3 replicas or not more than its min.insync.replicas.",
  ),

  // --- Schema registry
  schemaRegistryUrl: entry(
    'SCHEMA_REGISTRY_URL',
    url,
    'http://127.0.0.1:8081/apis/ccompat/v7',
    'Confluent-API schema registry base URL (Redpanda: http://localhost:8081); a `user:password@` in it is used as basic auth unless SCHEMA_REGISTRY_USERNAME is set.',
    'url',
  ),
  schemaRegistryTimeoutMs: entry(
    'SCHEMA_REGISTRY_TIMEOUT_MS',
    int(500, 600_000),
    '10000',
    'Bound on one schema registry request; past it the request fails as retriable (the bridge and consumers retry).',
  ),
  schemaRegistryUsername: entry('SCHEMA_REGISTRY_USERNAME', z.string(), '', 'Registry basic-auth user.'),
  schemaRegistryPassword: entry(
    'SCHEMA_REGISTRY_PASSWORD',
    z.string(),
    '',
    'Registry basic-auth password.',
    'value',
  ),

  // --- DynamoDB
  dynamodbEndpoint: entry(
    'DYNAMODB_ENDPOINT',
    z.string(),
    'http://127.0.0.1:8000',
    'DynamoDB endpoint; empty string = the AWS regional endpoint.',
    'url',
  ),
  dynamodbStreamsEndpoint: entry('DYNAMODB_STREAMS_ENDPOINT', z.string(), '', 'DynamoDB Streams endpoint of the bridge; empty = DYNAMODB_ENDPOINT (the shard-split test harness is served here).', 'url'),
  dynamodbRequestTimeoutMs: entry(
    'DYNAMODB_REQUEST_TIMEOUT_MS',
    int(500, 600_000),
    '10000',
    'Bound on one DynamoDB / DynamoDB Streams request (connecting at most 3 s of it); a request past it fails as retriable and the SDK retries it (up to 6 attempts), then the bridge or writer does.',
  ),
  awsRegion: entry('AWS_REGION', z.string().min(1), 'us-east-1', 'AWS region.'),
  awsAccessKeyId: entry('AWS_ACCESS_KEY_ID', z.string(), 'local', 'AWS access key id (DynamoDB Local accepts any).'),
  awsSecretAccessKey: entry(
    'AWS_SECRET_ACCESS_KEY',
    z.string(),
    'local',
    'AWS secret access key.',
    'value',
  ),

  // --- PostgreSQL
  databaseUrl: entry(
    'DATABASE_URL',
    url,
    'postgres://postgres:postgres@127.0.0.1:5432/pipeline',
    'PostgreSQL URL for writers (projectors, aggregators, migrations).',
    'url',
  ),
  apiDatabaseUrl: entry(
    'API_DATABASE_URL',
    url,
    'postgres://pipeline_reader:pipeline_reader@127.0.0.1:5432/pipeline',
    'PostgreSQL URL of the read-only role the API uses; `setup` creates the role with this user name and password.',
    'url',
  ),
  pgPoolMax: entry('PG_POOL_MAX', int(1, 200), '10', 'Connections per pool.'),
  pgConnectTimeoutMs: entry(
    'PG_CONNECT_TIMEOUT_MS',
    int(100, 600_000),
    '5000',
    'Bound on getting a PostgreSQL connection from a pool (waiting for a free one or opening one), in every role and command; past it the attempt fails as retriable: roles retry, the API answers 503.',
  ),
  pgQueryTimeoutMs: entry(
    'PG_QUERY_TIMEOUT_MS',
    int(1_000, 3_600_000),
    '60000',
    'Bound on one PostgreSQL statement of the roles and commands (projector, views, monitor, rebuild, integrity, DLQ): the server cancels it at this age (statement_timeout), and the client abandons it and destroys the connection 1 s later when the server cannot answer at all (frozen, cut off). Either way the work fails as retriable and is retried. Migrations are not bounded.',
  ),

  // --- Observability
  prometheusUrl: entry(
    'PROMETHEUS_URL',
    url,
    'http://127.0.0.1:9090',
    'Prometheus base URL: printed by `demo`, queried by the dashboard and alert-rule checks (test/monitor).',
    'url',
  ),
  prometheusTargetsDir: inPackageIfPresent(
    entry(
      'PROMETHEUS_TARGETS_DIR',
      z.string(),
      '.stack/prometheus/targets',
      'Folder of Prometheus file_sd target files; each process announces its /metrics endpoint there (empty = do not announce). The default is the local stack\'s folder in the checkout, when it exists; an installed package announces nothing unless this is set.',
    ),
  ),
  metricsPort: entry('METRICS_PORT', int(0, 65535), '9464', 'Port of the /metrics endpoint of a pipeline process (0 = random).'),
  metricsHost: entry(
    'METRICS_HOST',
    z.string().min(1),
    '127.0.0.1',
    'Interface the metrics port (/metrics, /healthz, /readyz) binds to: 0.0.0.0 where Prometheus or an orchestrator\'s probes reach the process from outside (a container, another host).',
  ),
  logLevel: entry(
    'LOG_LEVEL',
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    'info',
    'pino log level.',
  ),
  logFormat: entry('LOG_FORMAT', z.enum(['auto', 'json', 'pretty']), 'auto', 'Log lines: `auto` = readable text (and a status line in `demo`) on a terminal, JSON lines otherwise; `json` or `pretty` to force one.'),

  // --- Roles
  roles: entry(
    'ROLES',
    csv.pipe(z.array(z.enum(['bridge', 'projector', 'views', 'monitor', 'api']))),
    'bridge,projector,views,monitor,api',
    'Roles this process runs (scale out by running subsets in several processes).',
  ),
  connectorFile: inPackage(
    entry(
      'CONNECTOR_FILE',
      z.string().min(1),
      'connectors/journal.json',
      'Connector file(s) the bridge role relays: a file, a comma-separated list or a folder of *.json (one bridge per connector); projector and views read the topic of every connector of the inventory aggregate. Paths given are relative to the working directory; the default is the reference connector shipped in the package.',
    ),
  ),
  groupPrefix: entry(
    'GROUP_PREFIX',
    z.string().regex(/^[A-Za-z0-9._-]*$/),
    '',
    'Prefix of consumer group ids (inventory-projector, inventory-views): separates environments sharing a cluster.',
  ),
  workerId: entry('WORKER_ID', z.string(), '', 'Stable worker id for bridge leases (default: host-pid).'),
  consumerBatchSize: entry('CONSUMER_BATCH_SIZE', int(1, 50_000), '2000', 'Records per PostgreSQL transaction in projectors and aggregators, at most: a partition batch is cut into chunks of this many, and small batches of several partitions join one transaction up to this many together.'),
  consumerConcurrency: entry(
    'CONSUMER_CONCURRENCY',
    int(1, 64),
    '3',
    'PostgreSQL transactions a projector or aggregator process runs at once (a connection each, from PG_POOL_MAX). The partition batches of one fetch join one transaction while together they hold at most CONSUMER_BATCH_SIZE records (at the head of the topic, all of them: one commit per fetch); full batches (catching up) run in transactions of their own, this many at once.',
  ),
  consumerSessionTimeoutMs: entry(
    'CONSUMER_SESSION_TIMEOUT_MS',
    int(6_000, 300_000),
    '30000',
    'Kafka group session timeout of projectors and aggregators: how long the partitions of a member that died without leaving (kill -9, frozen, cut off) stay unread before the group hands them to another. Lower fails over sooner but lets a long GC pause or a PostgreSQL stall cost a rebalance; it must lie within the brokers\' group.min/max.session.timeout.ms (6 s – 5 min by default). Heartbeats go every third of it, at most every 3 s.',
  ),
  windowGraceMs: entry('WINDOW_GRACE_MS', int(0, 7 * 86_400_000), '3600000', 'Grace period of daily event-time windows.'),
  lateEvents: entry(
    'LATE_EVENTS',
    z.enum(['correct', 'dead-letter']),
    'correct',
    'Events later than the grace period: applied as counted corrections, or dead-lettered.',
  ),
  lagPollIntervalMs: entry('LAG_POLL_INTERVAL_MS', int(100, 600_000), '5000', 'Lag monitor poll interval.'),
  lagGroups: entry(
    'LAG_GROUPS',
    csv.transform((groups): string[] | 'all' => (groups.length === 1 && groups[0] === 'all' ? 'all' : groups)),
    'all',
    "Groups the lag monitor watches: 'all' or a comma-separated list.",
  ),

  // --- API
  apiPort: entry('API_PORT', int(0, 65535), '3000', 'HTTP port of the API.'),
  apiHost: entry('API_HOST', z.string(), '127.0.0.1', 'Interface the API binds to.'),
  apiKeys: entry(
    'API_KEYS',
    z.string(),
    '',
    'Optional bearer keys, `name:key:requestsPerSecond` comma-separated; empty = no authentication.',
    'keys',
  ),
  apiCursorSecret: entry(
    'API_CURSOR_SECRET',
    z.string(),
    '',
    'HMAC secret of pagination cursors; API instances behind one load balancer must share it (empty = random per process).',
    'value',
  ),
  apiStatementTimeoutMs: entry('API_STATEMENT_TIMEOUT_MS', int(100, 600_000), '5000', 'statement_timeout of the API read-only sessions; the client abandons a query 1 s later when the server cannot answer at all (its connection is destroyed).'),
  apiRequestTimeoutMs: entry(
    'API_REQUEST_TIMEOUT_MS',
    int(500, 600_000),
    '5000',
    'Budget of one API request: a request not answered by then gets 503 problem+json with Retry-After, whatever a dependency does (PostgreSQL frozen or unreachable included). Also bounds the wait for a pooled connection.',
  ),
  corsOrigins: entry('CORS_ORIGINS', list, '', 'Comma-separated allowed CORS origins (empty = CORS off).'),
  canaryIntervalMs: entry(
    'CANARY_INTERVAL_MS',
    int(0, 60_000),
    '1000',
    'End-to-end canary: the bridge role appends a heartbeat to the journal this often; the API and /readyz judge freshness by it (0 = off: answers can then never be UP_TO_DATE).',
  ),
  readyMaxStalenessMs: entry(
    'READY_MAX_STALENESS_MS',
    int(0, 86_400_000),
    '300000',
    '/readyz fails when a view is staler than this.',
  ),
  shutdownTimeoutMs: entry(
    'SHUTDOWN_TIMEOUT_MS',
    int(1000, 600_000),
    '25000',
    'Grace period of a SIGTERM stop; past it the process logs the role still stopping and exits (keep it below the orchestrator\'s own).',
  ),
};

type Entries = typeof configEntries;
export type Config = { [K in keyof Entries]: z.output<Entries[K]['schema']> };

/**
 * Settings that were documented once and are no longer read: setting one is
 * an error that says where the setting lives now, rather than a knob that
 * silently does nothing.
 */
const removedSettings: Record<string, string> = {
  TOPIC_PARTITIONS: 'no longer read: the connector file\'s "partitions" (CONNECTOR_FILE) sets the partitions of the topic it creates',
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** The table as typed pairs (what `config/secrets.ts` and the docs/configuration.md table walk). */
export const entries = () => Object.entries(configEntries) as [keyof Config, Entry<z.ZodTypeAny>][];

/**
 * Validates the environment once. Throws {@link ConfigError} naming every bad
 * variable and what it expected; secret values are never echoed.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, why] of Object.entries(removedSettings)) {
    if (env[name] !== undefined) problems.push(`${name}: ${why}`);
  }
  for (const [key, e] of entries()) {
    const raw = env[e.env] ?? (e.default !== undefined && e.resolveDefault ? e.resolveDefault(e.default) : e.default);
    if (raw === undefined) {
      problems.push(`${e.env}: required (${e.doc})`);
      continue;
    }
    const parsed = e.schema.safeParse(raw);
    if (parsed.success) out[key] = parsed.data;
    else {
      const shown = e.secret ? '<redacted>' : JSON.stringify(raw);
      problems.push(`${e.env}=${shown}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return withRegistryCredentials(out as Config);
}

/**
 * fetch refuses a URL that carries credentials (and would quote the URL in
 * its error), so `https://user:password@registry` becomes the URL without
 * them plus basic auth; explicit SCHEMA_REGISTRY_USERNAME/PASSWORD win.
 */
function withRegistryCredentials(c: Config): Config {
  const u = new URL(c.schemaRegistryUrl);
  if (!u.username && !u.password) return c;
  const username = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  const bare = u.toString();
  return {
    ...c,
    // URL adds a trailing slash to a bare origin; keep the operator's spelling otherwise.
    schemaRegistryUrl: c.schemaRegistryUrl.endsWith('/') || !bare.endsWith('/') ? bare : bare.slice(0, -1),
    ...(c.schemaRegistryUsername ? {} : { schemaRegistryUsername: username, schemaRegistryPassword: password }),
  };
}

/** Markdown table of every setting, for docs/configuration.md (scripts/config-doc.ts). */
export function configMarkdown(): string {
  const rows = Object.values(configEntries).map((e: Entry<z.ZodTypeAny>) => {
    const def = e.default === undefined ? '(required)' : `\`${e.default}\``;
    const secret = e.secret ? secretKinds[e.secret].readme : '';
    return `| \`${e.env}\` | ${def} | ${secret} | ${e.doc} |`;
  });
  return ['| variable | default | secret | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
