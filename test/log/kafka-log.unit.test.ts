import { Writable } from 'node:stream';
import { logLevel } from 'kafkajs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { classifyKafkajsLog, kafkaErrorCode, kafkajsLogCreator } from '../../src/log/kafka-log.js';

const CONCURRENT = 'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing';

/** Lines as kafkajs 2.2.4 logs them at ERROR (namespace, message, extra), from its source. */
const retried: [string, string, Record<string, unknown>, string][] = [
  ['Connection', 'Response AddPartitionsToTxn(key: 24, version: 1)', { error: CONCURRENT, correlationId: 7, size: 60 }, 'CONCURRENT_TRANSACTIONS'],
  ['Connection', 'Response FindCoordinator(key: 10, version: 2)', { error: 'The group coordinator is not available' }, 'GROUP_COORDINATOR_NOT_AVAILABLE'],
  ['Connection', 'Response Heartbeat(key: 12, version: 3)', { error: 'The group is rebalancing, so a rejoin is needed' }, 'REBALANCE_IN_PROGRESS'],
  ['Connection', 'Response OffsetCommit(key: 8, version: 5)', { error: 'This is not the correct coordinator for this group' }, 'NOT_COORDINATOR_FOR_GROUP'],
  ['Connection', 'Connection error: connect ECONNREFUSED 127.0.0.1:9092', { stack: '…' }, 'ECONNREFUSED'],
  ['Connection', 'Connection timeout', {}, 'CONNECTION_TIMEOUT'],
  ['BrokerPool', 'Failed to connect to seed broker, trying another broker from the list: Connection error: connect ECONNREFUSED 127.0.0.1:9092', { retryCount: 0, retryTime: 300 }, 'ECONNREFUSED'],
  ['Producer', 'Failed to send messages: This server is not the leader for that topic-partition', { retryCount: 1, retryTime: 400 }, 'NOT_LEADER_FOR_PARTITION'],
  ['Consumer', 'Restarting the consumer in 300ms', { retryCount: 0, retryTime: 300, groupId: 'g' }, 'CONSUMER_RESTART'],
  ['Runner', 'The coordinator is not aware of this member, re-joining the group', { groupId: 'g' }, 'UNKNOWN_MEMBER_ID'],
];

describe('kafkajs log levels', () => {
  it.each(retried)('%s "%s" is a retry the client handles (%s)', (namespace, message, extra, code) => {
    expect(classifyKafkajsLog(namespace, logLevel.ERROR, message, extra)).toEqual({ level: 'retried', code });
  });

  it('keeps at ERROR what a person should look at', () => {
    const error = (ns: string, m: string, extra: Record<string, unknown> = {}) => classifyKafkajsLog(ns, logLevel.ERROR, m, extra).level;
    expect(error('ConsumerGroup', 'Offset out of range, resetting to default offset', { topic: 't', partition: 0 })).toBe('error');
    expect(error('Consumer', 'Failed to execute listener: boom', { eventName: 'consumer.crash' })).toBe('error');
    expect(error('Admin', 'Could not delete topics, check if "delete.topic.enable" is set to "true"', { retryCount: 0 })).toBe('error');
    expect(error('SASLPlainAuthenticator', 'SASL PLAIN authentication failed: Authentication failed')).toBe('error');
    expect(error('Somewhere', 'something new')).toBe('error');
  });

  it('leaves to our code what kafkajs throws to it (warn, not counted as a retry)', () => {
    const level = (ns: string, m: string, extra: Record<string, unknown> = {}) => classifyKafkajsLog(ns, logLevel.ERROR, m, extra).level;
    expect(level('Consumer', 'Crash: KafkaJSNumberOfRetriesExceeded: Connection error', { groupId: 'g', retryCount: 5 })).toBe('warn');
    expect(level('Runner', 'Error when calling eachBatch', { topic: 't' })).toBe('warn');
    // A fenced producer's send is not retried: our relay handles the fencing.
    expect(level('Producer', 'There is a newer producer with the same transactionalId which fences the current one', { retryCount: 0 })).toBe('warn');
  });

  it('maps the other levels one to one', () => {
    expect(classifyKafkajsLog('Connection', logLevel.WARN, 'x', {}).level).toBe('warn');
    expect(classifyKafkajsLog('Connection', logLevel.INFO, 'x', {}).level).toBe('info');
    expect(classifyKafkajsLog('Connection', logLevel.DEBUG, 'x', {}).level).toBe('debug');
  });

  it('finds protocol error types by message, and errnos', () => {
    expect(kafkaErrorCode(CONCURRENT)).toBe('CONCURRENT_TRANSACTIONS');
    expect(kafkaErrorCode('read ECONNRESET')).toBe('ECONNRESET');
    expect(kafkaErrorCode('no idea')).toBeUndefined();
  });

  it('writes a retried error as one warn line per code per interval, and counts every occurrence', async () => {
    const lines: { level: number; msg: string; code?: string; suppressed?: number; namespace?: string }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as (typeof lines)[number]);
        done();
      },
    });
    const registry = new Registry();
    const log = kafkajsLogCreator(pino({ level: 'info' }, sink), { registry, retryLogIntervalMs: 60_000 })(logLevel.INFO);
    const entry = (namespace: string, level: number, message: string, extra: Record<string, unknown> = {}) =>
      log({ namespace, level, label: 'ERROR', log: { timestamp: new Date().toISOString(), logger: 'kafkajs', message, ...extra } });
    for (let i = 0; i < 23; i++) entry('Connection', logLevel.ERROR, 'Response AddPartitionsToTxn(key: 24, version: 1)', { error: CONCURRENT });
    entry('ConsumerGroup', logLevel.ERROR, 'Offset out of range, resetting to default offset');
    await new Promise((r) => setImmediate(r));

    expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual(['Offset out of range, resetting to default offset']);
    const warns = lines.filter((l) => l.level === 40);
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatchObject({ code: 'CONCURRENT_TRANSACTIONS', suppressed: 0, namespace: 'Connection' });
    const metric = await registry.getSingleMetricAsString('pipeline_client_retries_total');
    expect(metric).toContain('pipeline_client_retries_total{client="kafkajs",code="CONCURRENT_TRANSACTIONS"} 23');
  });
});
