/**
 * The bridge's transactional sink on each client (BRIDGE_KAFKA_CLIENT), the
 * producer alone: N records shaped like the bridge's (key = persistence id,
 * ~200-byte value, the ten relay headers) committed in transactions of TX
 * records plus a checkpoint each, through the same ShardSink the bridge uses.
 * The clients alternate within every round (order flipped each round), so a
 * busy machine weighs on both alike. Reports records/s and CPU seconds of
 * this process per million records (getrusage: librdkafka's threads are
 * counted), median of ROUNDS.
 *
 *   node --import tsx bench/sink-clients.ts   (N=50000 TX=1000 ROUNDS=5 SINKS="kafkajs confluent")
 *
 * JSON to bench/results/sink-clients.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config/config.js';
import { createKafka, kafkaSettingsOf, type SinkClientName } from '../src/log/kafka.js';
import { createTransactionalSink, type OutgoingMessage } from '../src/log/relay-producer.js';
import { createTopicsAndWait } from '../src/log/topics.js';
import { silentLogger } from '../src/shared/logger.js';

const N = Number(process.env.N ?? 50_000);
const TX = Number(process.env.TX ?? 1_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SINKS = (process.env.SINKS ?? 'kafkajs confluent').split(/\s+/).filter(Boolean) as SinkClientName[];
const OUT = path.join(import.meta.dirname, 'results', 'sink-clients.json');

const config = loadConfig();
const logger = silentLogger();
const id = `bench-sinks-${Date.now().toString(36)}`;
const topic = `${id}.events`;
const checkpoints = `${id}.checkpoints`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function records(): OutgoingMessage[] {
  return Array.from({ length: N }, (_, i) => {
    const pid = `inventory-INV-${String(i % 5_000).padStart(6, '0')}`;
    return {
      topic,
      key: pid,
      value: Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), randomBytes(200)]),
      headers: {
        event_type: 'StockReceived',
        schema_version: '2',
        persistence_id: pid,
        sequence_nr: String(Math.floor(i / 5_000) + 1),
        source_written_at: String(Date.now()),
        cdc_relayed_at: String(Date.now()),
        correlation_id: randomBytes(8).toString('hex'),
        causation_id: randomBytes(8).toString('hex'),
        shard_id: 'shardId-00000001700000000000-00000000',
        stream_sequence_number: String(1e20 + i),
      },
    };
  });
}

async function once(client: SinkClientName, round: number, out: OutgoingMessage[]) {
  const kafka = createKafka({ ...kafkaSettingsOf(config), sinkClient: client }, logger, `bench-${client}`);
  const sink = await createTransactionalSink({ kafka, transactionalId: `${id}.${client}.${round}`, logger });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < out.length; i += TX) {
    const chunk = out.slice(i, i + TX);
    await sink.commit(chunk, {
      topic: checkpoints,
      key: `${id}/shard`,
      checkpoint: { sequenceNumber: String(i + chunk.length), shardEnded: false, updatedAt: Date.now(), leaseEpoch: 0 },
    });
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await sink.close();
  return {
    client,
    round,
    recordsPerS: Math.round(out.length / seconds),
    cpuSecondsPerMillion: +(((cpu.user + cpu.system) / 1e6 / out.length) * 1e6).toFixed(2),
  };
}

async function main() {
  const admin = createKafka(kafkaSettingsOf(config), logger, 'bench-admin').admin();
  await admin.connect();
  await createTopicsAndWait(admin, [
    { topic, numPartitions: 6 },
    { topic: checkpoints, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
  ]);
  const out = records();
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
  const runs: Awaited<ReturnType<typeof once>>[] = [];
  try {
    // A warm-up of each client (connections, metadata, JIT) that is not counted.
    for (const client of SINKS) await once(client, 0, out.slice(0, TX * 2));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const client of round % 2 ? SINKS : [...SINKS].reverse()) {
        const r = await once(client, round, out);
        runs.push(r);
        console.log(JSON.stringify(r));
      }
    }
  } finally {
    await admin.deleteTopics({ topics: [topic, checkpoints] }).catch(() => undefined);
    await admin.disconnect();
  }
  const summary = Object.fromEntries(
    SINKS.map((c) => {
      const mine = runs.filter((r) => r.client === c);
      return [c, { runs: mine.length, medianRecordsPerS: median(mine.map((r) => r.recordsPerS)), medianCpuSecondsPerMillion: median(mine.map((r) => r.cpuSecondsPerMillion)) }];
    }),
  );
  const result = { at: new Date().toISOString(), records: N, transactionRecords: TX, rounds: ROUNDS, loadAverageBefore: loadBefore, loadAverageAfter: readFileSync('/proc/loadavg', 'utf8').trim(), summary, runs };
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(result, null, 2));
  console.log(JSON.stringify({ summary }, null, 2));
}

await main();
