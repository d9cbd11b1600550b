import { describe, expect, it } from 'vitest';
import type { Bridge, BridgeStatus } from '../../src/source/bridge.js';
import { createBridgeGroup } from '../../src/source/bridge-group.js';
import { parseConnector, type ConnectorConfig } from '../../src/source/connector.js';
import { silentLogger } from '../../src/shared/logger.js';

const connector = (name: string): ConnectorConfig =>
  parseConnector({
    name,
    table: `${name}-table`,
    topic: `${name}.events`,
    mapping: { persistenceId: 'pk', sequenceNr: 'seq', eventType: 'type', payload: 'data', payloadCodec: 'json' },
  });

/** A bridge whose start fails while `failing()` says so. */
function fakeBridge(c: ConnectorConfig, failing: () => boolean, log: string[]): Bridge {
  let state: BridgeStatus['state'] = 'idle';
  return {
    async start() {
      log.push(`start ${c.name}`);
      if (failing()) throw new Error(`table ${c.table} not found`);
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
});
