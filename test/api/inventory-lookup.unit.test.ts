import { describe, expect, it } from 'vitest';
import {
  INVENTORIES_BY_INVENTORY_IDS,
  INVENTORY_BY_INVENTORY_ID,
  INVENTORY_BY_PERSISTENCE_ID,
  createInventoryLookup,
} from '../../src/db/queries/inventories.js';
import type { Queryable } from '../../src/db/queries/queryable.js';

const row = (inventoryId: string) => ({
  inventoryId,
  persistenceId: `inventory-${inventoryId}`,
  lastSequenceNr: 1,
  freshnessGroupId: 'inventory-projector',
  freshnessLastSourceTime: new Date(0),
  freshnessLastEventTime: new Date(0),
  freshnessLastCommitTime: new Date(1),
  freshnessLastCanaryTime: null,
});

/** A pool stand-in that knows `existing` inventory ids and records every statement. */
function fakeDb(existing: string[], { fail = false } = {}) {
  const statements: { name: string; values: unknown[] }[] = [];
  const query = async ({ name, values }: { name: string; values: unknown[] }) => {
    statements.push({ name, values });
    await new Promise((r) => setTimeout(r, 1));
    if (fail) throw new Error('connection terminated');
    if (name === INVENTORIES_BY_INVENTORY_IDS.name) return { rows: (values[0] as string[]).filter((id) => existing.includes(id)).map(row) };
    const id = String(values[0]);
    const hit = name === INVENTORY_BY_PERSISTENCE_ID.name ? existing.find((e) => `inventory-${e}` === id) : existing.find((e) => e === id);
    return { rows: hit ? [row(hit)] : [] };
  };
  // Only the config-object form the lookup uses, answering { rows }.
  const db: Queryable = { query: query as Queryable['query'] };
  return { db, statements };
}

describe('createInventoryLookup', () => {
  it('answers the lookups of one turn with one statement, each with its own row and the view freshness', async () => {
    const { db, statements } = fakeDb(['INV-1', 'INV-2', 'INV-3']);
    const find = createInventoryLookup(db);
    const answers = await Promise.all(['INV-1', 'INV-2', 'INV-1', 'INV-3'].map(find));
    expect(answers.map((a) => a?.inventory.inventoryId)).toEqual(['INV-1', 'INV-2', 'INV-1', 'INV-3']);
    expect(answers[0]!.freshness).toMatchObject({ viewName: 'inventories', groupId: 'inventory-projector' });
    expect(answers[0]!.inventory).not.toHaveProperty('freshnessGroupId');
    expect(statements).toEqual([{ name: INVENTORIES_BY_INVENTORY_IDS.name, values: [['INV-1', 'INV-2', 'INV-3']] }]);
  });

  it('tries a miss by persistence id, and a persistence-id-shaped id by persistence id first', async () => {
    const { db, statements } = fakeDb(['INV-1']);
    const find = createInventoryLookup(db);
    expect(await find('INV-404')).toBeUndefined();
    expect(statements.map((s) => s.name)).toEqual([INVENTORIES_BY_INVENTORY_IDS.name, INVENTORY_BY_PERSISTENCE_ID.name]);
    statements.length = 0;
    expect((await find('inventory-INV-1'))?.inventory.inventoryId).toBe('INV-1');
    expect(statements.map((s) => s.name)).toEqual([INVENTORY_BY_PERSISTENCE_ID.name]);
    statements.length = 0;
    expect(await find('inventory-INV-404')).toBeUndefined();
    expect(statements.map((s) => s.name)).toEqual([INVENTORY_BY_PERSISTENCE_ID.name, INVENTORY_BY_INVENTORY_ID.name]);
  });

  it('splits a turn into statements of at most maxBatch ids', async () => {
    const ids = Array.from({ length: 7 }, (_, i) => `INV-${i}`);
    const { db, statements } = fakeDb(ids);
    const find = createInventoryLookup(db, { maxBatch: 3 });
    const answers = await Promise.all(ids.map(find));
    expect(answers.map((a) => a?.inventory.inventoryId)).toEqual(ids);
    expect(statements.map((s) => (s.values[0] as string[]).length)).toEqual([3, 3, 1]);
  });

  it("fails every waiter of a batch with the statement's error, and the next turn starts afresh", async () => {
    const failing = fakeDb(['INV-1', 'INV-2'], { fail: true });
    const find = createInventoryLookup(failing.db);
    const results = await Promise.allSettled([find('INV-1'), find('INV-2')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(failing.statements).toHaveLength(1);
  });
});
