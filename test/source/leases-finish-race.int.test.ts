import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { createLeaseManager } from '../../src/source/leases.js';
import { dynamo, testLogger, uniqueName } from '../helpers/stack.js';

const ddb = dynamo();
const table = uniqueName('leases-race');
afterAll(async () => {
  await ddb.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
});

describe('shard leases: a shard finished while a renewal round is in flight', () => {
  it('the round skips it instead of failing, and it stays dropped (found by the shard-split harness)', async () => {
    // Holds back the renewal of lease `a` (before it is sent) until released: the SDK's own middleware, real DynamoDB behind it.
    let release: (() => void) | undefined;
    const gate = new Promise<void>((r) => (release = r));
    let holding = false;
    ddb.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Key?: { leaseKey?: { S?: string } }; UpdateExpression?: string };
        if (holding && input.Key?.leaseKey?.S === 'a' && input.UpdateExpression === 'SET leaseCounter = :n') await gate;
        return next(args);
      },
      { step: 'initialize', name: 'holdRenewalOfA' },
    );
    const m = createLeaseManager({ ddb, table, workerId: 'w', durationMs: 10_000, logger: testLogger });
    await m.ensureTable();
    expect([...(await m.sync(['a', 'b']))].sort()).toEqual(['a', 'b']);

    holding = true;
    const round = m.sync(['a', 'b']);
    // The shard worker of b reached SHARD_END meanwhile.
    await m.finish('b');
    release!();
    await expect(round).resolves.toEqual(new Set(['a']));
    expect(m.held()).toEqual(['a']);
    expect(m.endedShards()).toEqual(new Set(['b']));
  });
});
