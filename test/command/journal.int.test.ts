import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { decide, initialState } from '../../src/command/inventory.js';
import { ConcurrencyError } from '../../src/shared/errors.js';
import { journalFor } from '../helpers/pipeline.js';
import { dynamo, uniqueName } from '../helpers/stack.js';

describe('journal writer (real DynamoDB Local)', () => {
  const table = uniqueName('journal');
  afterAll(async () => {
    await dynamo().send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
  });

  it('two concurrent appends at the same position: one wins, one gets ConcurrencyError, nothing half-written', async () => {
    const journal = await journalFor(table);
    const pid = 'inventory-C-1';
    const create = decide(initialState(pid), {
      kind: 'create', inventoryId: 'C-1', productId: 'P-1', warehouseId: 'WH-TYO', zoneId: 'WH-TYO-AMBIENT', productStorageCondition: 'AMBIENT', zoneType: 'AMBIENT',
    });
    await journal.append({ persistenceId: pid, expectedSequenceNr: 0, events: create });
    const receipt = (q: number) => ({ type: 'StockReceived', data: { quantity: q, lotNumber: `L${q}`, supplierId: null, expiryDate: null } });
    // Each writer appends two events (one TransactWriteItems) from the same state.
    const results = await Promise.allSettled([
      journal.append({ persistenceId: pid, expectedSequenceNr: 1, events: [receipt(1), receipt(2)] }),
      journal.append({ persistenceId: pid, expectedSequenceNr: 1, events: [receipt(10), receipt(20)] }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toBeInstanceOf(ConcurrencyError);
    const all = await journal.load(pid);
    expect(all.map((r) => r.sequenceNr)).toEqual([1, 2, 3]);
    const lots = all.slice(1).map((r) => r.payload.length > 0 && r.eventId);
    expect(lots).toHaveLength(2);
    // Both surviving receipts come from the same writer.
    const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof journal.append>>>).value;
    expect(all.slice(1).map((r) => r.eventId)).toEqual(winner.map((r) => r.eventId));
    expect(await journal.highestSequenceNr(pid)).toBe(3);
  });

  it('loads a range, paginated, in sequence order', async () => {
    const journal = await journalFor(table);
    const pid = 'inventory-C-2';
    let seq = 0;
    await journal.append({ persistenceId: pid, expectedSequenceNr: seq, events: decide(initialState(pid), {
      kind: 'create', inventoryId: 'C-2', productId: 'P-1', warehouseId: 'WH-TYO', zoneId: 'WH-TYO-AMBIENT', productStorageCondition: 'AMBIENT', zoneType: 'AMBIENT',
    }) });
    seq = 1;
    for (let i = 0; i < 30; i++) {
      await journal.append({ persistenceId: pid, expectedSequenceNr: seq, events: Array.from({ length: 10 }, (_, k) => ({ type: 'StockReceived', data: { quantity: k + 1, lotNumber: 'x'.repeat(2000), supplierId: null, expiryDate: null } })) });
      seq += 10;
    }
    const range = await journal.load(pid, { from: 50, to: 250 });
    expect(range.map((r) => r.sequenceNr)).toEqual(Array.from({ length: 201 }, (_, i) => i + 50));
  });
});
