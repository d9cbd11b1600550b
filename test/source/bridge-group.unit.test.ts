import { describe, expect, it } from 'vitest';
import { BridgeRefusedError, type Bridge, type BridgeStatus } from '../../src/source/bridge.js';
import { createBridgeGroup } from '../../src/source/bridge-group.js';
import { parseConnector, type ConnectorConfig } from '../../src/source/connector.js';
import { createLogger, silentLogger } from '../../src/shared/logger.js';
import { PipelineError } from '../../src/shared/errors.js';

const connector = (name: string): ConnectorConfig =>
  parseConnector({
    name,
    table: `${name}-table`,
    topic: `${name}.events`,
    mapping: { persistenceId: 'pk', sequenceNr: 'seq', eventType: 'type', payload: 'data', payloadCodec: 'json' },
  });

/** A bridge whose start fails while `failing()` says so (with `error`, default: a missing table). */
function fakeBridge(c: ConnectorConfig, failing: () => boolean, log: string[], error: () => Error = () => new Error(`table ${c.table} not found`)): Bridge {
  let state: BridgeStatus['state'] = 'idle';
  return {
    async start() {
      log.push(`start ${c.name}`);
      if (failing()) throw error();
      state = 'running';
    },
    async stop() {
      log.push(`stop ${c.name}`);
      state = 'stopped';
    },
    status: () => ({ state, table: c.table }) as BridgeStatus,
    readiness: () => ({ ready: state === 'running', reasons: state === 'running' ? [] : [`bridge is ${state}`] }),
  };
}

describe('bridge group', () => {
  it('starts the connectors that can, retries the one that cannot until it can, and reports it meanwhile', async () => {
    const log: string[] = [];
    let missing = true;
    const group = createBridgeGroup({
      connectors: [connector('a'), connector('b')],
      create: (c) => fakeBridge(c, () => c.name === 'b' && missing, log),
      logger: silentLogger(),
      retryBaseMs: 5,
      retryMaxMs: 20,
    });
    await group.start();
    expect(group.readiness()).toEqual({ ready: false, reasons: ['connector b (table b-table) not started: table b-table not found'] });
    expect(group.status().map((s) => s.table)).toEqual(['a-table']);
    missing = false;
    for (let i = 0; i < 100 && !group.readiness().ready; i++) await new Promise((r) => setTimeout(r, 10));
    expect(group.readiness()).toEqual({ ready: true, reasons: [] });
    expect(group.connectors().find((c) => c.connector === 'b')!.startAttempts).toBeGreaterThan(1);
    await group.stop();
    expect(log.filter((l) => l.startsWith('stop')).sort()).toEqual(expect.arrayContaining(['stop a', 'stop b']));
  });

  it('rejects when no connector can start', async () => {
    const group = createBridgeGroup({
      connectors: [connector('a'), connector('b')],
      create: (c) => fakeBridge(c, () => true, []),
      logger: silentLogger(),
    });
    await expect(group.start()).rejects.toThrow(/no connector could start: a: table a-table not found; b: table b-table not found/);
  });

  const refused = (c: ConnectorConfig) => () =>
    new BridgeRefusedError(`the event schemas of topic ${c.topic} are not registered and could not be: 409. Fix: npm run cli -- schemas register --topic ${c.topic}`);

  /** A logger that keeps its ERROR and WARN lines. */
  function capturingLogger() {
    const lines: { level: number; msg: string; err?: string }[] = [];
    const logger = createLogger({ level: 'warn', name: 'test', format: 'json', destination: { write: (l: string) => void lines.push(JSON.parse(l) as (typeof lines)[number]), isTTY: false } });
    return { logger, errors: () => lines.filter((l) => l.level >= 50), warnings: () => lines.filter((l) => l.level === 40) };
  }

  it('a refused connector (schemas cannot be registered) stops with one ERROR naming the fix and is not retried; the others go on', async () => {
    const log: string[] = [];
    const { logger, errors, warnings } = capturingLogger();
    const group = createBridgeGroup({
      connectors: [connector('a'), connector('b')],
      create: (c) => fakeBridge(c, () => c.name === 'b', log, refused(c)),
      logger,
      retryBaseMs: 1,
      retryMaxMs: 2,
    });
    await group.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(log.filter((l) => l === 'start b')).toHaveLength(1);
    expect(errors()).toHaveLength(1);
    expect(errors()[0]!.err).toContain('npm run cli -- schemas register --topic b.events');
    expect(warnings()).toEqual([]);
    const b = group.connectors().find((c) => c.connector === 'b')!;
    expect(b).toMatchObject({ refused: true, startAttempts: 1 });
    expect(group.readiness().reasons).toEqual([expect.stringMatching(/^connector b \(table b-table\) stopped: the event schemas of topic b\.events/)]);
    await group.stop();
  });

  it('every connector refused: the start rejects with BRIDGE_REFUSED (the caller reports it once; nothing logged here)', async () => {
    const { logger, errors, warnings } = capturingLogger();
    const group = createBridgeGroup({ connectors: [connector('a')], create: (c) => fakeBridge(c, () => true, [], refused(c)), logger });
    const err = await group.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineError);
    expect((err as PipelineError).code).toBe('BRIDGE_REFUSED');
    expect((err as Error).message).toContain('Fix: npm run cli -- schemas register --topic a.events');
    expect([...errors(), ...warnings()]).toEqual([]);
  });
});
