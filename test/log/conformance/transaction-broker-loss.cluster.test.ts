import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckpointReader } from '../../../src/log/checkpoints.js';
import { createTransactionalSink, SinkFailedError, type OutgoingMessage, type ShardSink } from '../../../src/log/relay-producer.js';
import { createTopicsAndWait } from '../../../src/log/topics.js';
import { findCoordinator, leadersOf, untilClusterWhole } from '../../helpers/kafka-cluster.js';
import { readCommittedToEnd } from '../../helpers/read-to-end.js';
import { SINK_CLIENTS, kafkaWithSink } from '../../helpers/sink-clients.js';
import { testLogger, uniqueName } from '../../helpers/stack.js';

const execFileAsync = promisify(execFile);
const stackSh = (...args: string[]) => execFileAsync('bash', ['scripts/stack.sh', ...args], { timeout: 180_000, maxBuffer: 16 << 20 });

/**
 * Kafka client conformance on a 3-broker cluster: the bridge's transactional
 * sink (records + checkpoint in one transaction) while brokers are lost —
 * kill -9 of the broker leading most of the topic's partitions (a send
 * retried after leaders moved, some to brokers that had already answered:
 * the patched kafkajs #1303 case), then of the transaction coordinator
 * (kafkajs #1416 / #1282: a transaction interrupted by the broker loss must
 * not wedge the producer). After each failure the sink is reset and the
 * batch's fate read back from the checkpoint, as the bridge does. The topic
 * must end with every record exactly once, read_committed. It runs on each
 * client of the bridge's producer that is built here (SINK_CLIENTS: kafkajs,
 * and confluent after `stack.sh install --kafka-client confluent`).
 */
describe.each(SINK_CLIENTS)('transactional sink across broker loss on %s (3 brokers, real servers)', (client) => {
  const k = kafkaWithSink(client, 'conformance-txn');
  const admin = k.admin();
  const topic = uniqueName('conformance.txn');
  const checkpoints = `${topic}.checkpoints`;
  const transactionalId = uniqueName('conformance-txn');
  let sink: ShardSink | undefined;
  /** The killed brokers' restarts: awaited before the file ends, so the next cluster test starts on a whole cluster. */
  const restarts: Promise<unknown>[] = [];

  beforeAll(async () => {
    await admin.connect();
    await untilClusterWhole(admin);
    await createTopicsAndWait(admin, [
      { topic, numPartitions: 6 },
      { topic: checkpoints, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    ]);
  });
  afterAll(async () => {
    await Promise.allSettled(restarts);
    await untilClusterWhole(admin).catch(() => undefined);
    await sink?.close().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic, checkpoints] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('every record exactly once after the partition leader and the transaction coordinator were killed mid-stream', async () => {
    sink = await createTransactionalSink({ kafka: k, transactionalId, logger: testLogger, operationTimeoutMs: 20_000 });
    const reader = createCheckpointReader({ kafka: k, topic: checkpoints, logger: testLogger });
    const batches = 60;
    const batch = (i: number): OutgoingMessage[] =>
      Array.from({ length: 40 }, (_, j) => ({ topic, key: `k-${i}-${j}`, value: Buffer.from(`v-${i}-${j}`), headers: { batch: String(i) } }));
    let failures = 0;
    const kills: string[] = [];
    const kill = async (what: string, node: number) => {
      kills.push(`${what} ${node}`);
      await stackSh('stop', '--kill', `kafka-${node}`);
      restarts.push(new Promise((r) => setTimeout(r, 15_000)).then(() => stackSh('up', `kafka-${node}`)));
    };
    // Each kill once, the first time the stream reaches its batch: after a failed transaction the loop goes back
    // to the checkpoint and passes that batch again.
    const killAt = new Map<number, () => Promise<void>>([
      [15, async () => kill('leader of most partitions', [...(await leadersOf(admin, topic))].sort((a, b) => b[1].length - a[1].length)[0]![0])],
      [35, async () => kill('transaction coordinator', await findCoordinator(transactionalId, 'transaction'))],
    ]);

    for (let i = 0; i < batches; ) {
      const killNow = killAt.get(i);
      killAt.delete(i);
      await killNow?.();
      try {
        await sink.commit(batch(i), { topic: checkpoints, key: 'shard-table/shard', checkpoint: { sequenceNumber: String(i), shardEnded: false, updatedAt: Date.now(), leaseEpoch: 0 } });
        i++;
      } catch (err) {
        if (!(err instanceof SinkFailedError)) throw err;
        failures++;
        // As the bridge: a fresh producer (fencing the old one), then the last committed checkpoint says where to go on.
        for (;;) {
          try {
            await sink.reset();
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 1000));
          }
        }
        const last = (await reader.read('shard-table')).get('shard');
        i = last?.sequenceNumber == null ? 0 : Number(last.sequenceNumber) + 1;
      }
    }
    // eslint-disable-next-line no-console -- what the run went through belongs in its log
    console.log(`killed: ${kills.join(', ')}; ${failures} failed transactions, each reset and resumed from the checkpoint`);
    expect(kills).toHaveLength(2);

    const counts = new Map<string, number>();
    await readCommittedToEnd({
      kafka: k, topic, groupId: uniqueName('verify'), timeoutMs: 120_000,
      onMessage: (_, m) => counts.set(m.key!.toString(), (counts.get(m.key!.toString()) ?? 0) + 1),
      ready: () => counts.size >= batches * 40,
      progress: () => `(${counts.size} of ${batches * 40} keys)`,
    });
    const duplicated = [...counts].filter(([, n]) => n > 1).map(([key, n]) => `${key}×${n}`);
    expect(counts.size, 'records missing').toBe(batches * 40);
    expect(duplicated, 'records duplicated (stock kafkajs resends a slower broker\'s records with new sequence numbers)').toEqual([]);
  });

});
