import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { createLeaseManager } from '../../src/source/leases.js';
import { dynamo, testLogger, uniqueName } from '../helpers/stack.js';

const ddb = dynamo();
const table = uniqueName('leases');
afterAll(async () => {
  await ddb.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
});

describe('shard leases in DynamoDB (real DynamoDB Local)', () => {
  it('balances by stealing, takes over expired leases, never lets two workers hold one, fences by epoch', async () => {
    let clock = 1_000_000;
    const now = () => clock;
    const mk = (workerId: string) => createLeaseManager({ ddb, table, workerId, durationMs: 10_000, logger: testLogger, now });
    const a = mk('a');
    const b = mk('b');
    await a.ensureTable();
    await b.ensureTable();
    const shards = ['s1', 's2', 's3', 's4'];

    expect([...(await a.sync(shards))].sort()).toEqual(shards);
    expect(shards.map((s) => a.epoch(s))).toEqual([1, 1, 1, 1]);

    // b arrives: fair share is 2; it steals one lease per round from the busiest worker.
    for (let i = 0; i < 3; i++) {
      clock += 1000;
      await b.sync(shards);
      await a.sync(shards);
    }
    const heldA = a.held().sort();
    const heldB = b.held().sort();
    expect(heldA).toHaveLength(2);
    expect(heldB).toHaveLength(2);
    expect([...heldA, ...heldB].sort()).toEqual(shards);
    // A stolen lease's epoch moved on: checkpoints written by the new owner carry it.
    for (const s of heldB) expect(b.epoch(s)).toBe(2);
    // a noticed the loss at its renewal and no longer claims the shard.
    for (const s of heldB) expect(a.holds(s)).toBe(false);

    // a stops renewing (killed). b times expiry from the last counter change
    // it observed (its own clock, like the KCL): until then nothing moves.
    clock += 5000;
    await b.sync(shards); // first sight of a's last renewal
    clock += 9000;
    await b.sync(shards);
    expect(b.held()).toHaveLength(2);
    clock += 1000;
    expect([...(await b.sync(shards))].sort()).toEqual(shards);

    // A worker that comes back with the same id finds its leases gone and cannot renew them.
    await a.sync([]);
    expect(a.held()).toEqual([]);

    // Graceful shutdown hands leases over at once; a finished shard is never leased again.
    await b.finish('s1');
    await b.releaseAll();
    clock += 100;
    const c = mk('c');
    expect([...(await c.sync(shards))].sort()).toEqual(['s2', 's3', 's4']);
    expect(c.endedShards()).toEqual(new Set(['s1']));
  });
});
