import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { defaultSchemasDir, loadCatalog } from '../../src/events/catalog.js';
import { assertEvolution, checkCandidate, checkCatalog, checkStep, stepAccepted } from '../../src/events/evolution.js';
import { createVersionLadder } from '../../src/events/upcast.js';
import { inventoryUpcasters } from '../../src/events/upcasters/index.js';

const catalog = loadCatalog(defaultSchemasDir('inventory'));
const released = catalog.get('StockReleased', 1);

type Field = { name: string; type: unknown; default?: unknown; aliases?: string[] };
/** StockReleased v1 with its fields after `metadata` changed by `edit`. */
function releasedWith(edit: (fields: Field[]) => Field[]): avro.Type {
  const schema = structuredClone(released.schema) as unknown as { fields: Field[] };
  const [metadata, ...rest] = schema.fields;
  schema.fields = [metadata!, ...edit(rest)];
  return avro.Type.forSchema(schema as unknown as avro.Schema);
}
const step = (to: avro.Type, upcasters = inventoryUpcasters) => checkStep('StockReleased', 1, released.type, to, upcasters);

describe('evolution rule', () => {
  it('StockShipped v1 → v2 (cases → units) needs an upcaster: accepted with it, rejected without', () => {
    const [from, to] = catalog.versions('StockShipped');
    const without = checkStep('StockShipped', 1, from!.type, to!.type, []);
    expect(without.needsUpcaster.join()).toMatch(/quantityCases, unitsPerCase removed while quantity added with a default/);
    expect(stepAccepted(without)).toBe(false);
    expect(stepAccepted(checkStep('StockShipped', 1, from!.type, to!.type, inventoryUpcasters))).toBe(true);
  });

  it('StockAdjusted v1 → v2 (amount → quantityDelta, code → enum) needs an upcaster', () => {
    const [from, to] = catalog.versions('StockAdjusted');
    const without = checkStep('StockAdjusted', 1, from!.type, to!.type, []);
    expect(without.needsUpcaster.join()).toMatch(/amount, reasonCode removed while quantityDelta, reason, note added/);
    expect(stepAccepted(without)).toBe(false);
    expect(stepAccepted(checkStep('StockAdjusted', 1, from!.type, to!.type, inventoryUpcasters))).toBe(true);
  });

  it('StockReceived v1 → v2 (optional fields added) is resolution-only and needs no upcaster', () => {
    const [from, to] = catalog.versions('StockReceived');
    const c = checkStep('StockReceived', 1, from!.type, to!.type, []);
    expect(c).toMatchObject({ needsUpcaster: [], incompatible: [], hasUpcaster: false });
    expect(stepAccepted(c)).toBe(true);
  });

  it('the shipped catalog passes; the same catalog without upcasters is refused where the ladder is built', () => {
    expect(checkCatalog(catalog, inventoryUpcasters).every(stepAccepted)).toBe(true);
    expect(() => assertEvolution(catalog, [])).toThrow(/StockAdjusted v1 → v2: REJECTED[\s\S]*StockShipped v1 → v2: REJECTED/);
    expect(() => createVersionLadder(catalog, [])).toThrow(expect.objectContaining({ code: 'SCHEMA_EVOLUTION' }));
  });

  it('resolution-only changes: a removed field, a rename declared with aliases, a promotion, an added enum symbol', () => {
    expect(step(releasedWith((f) => f.filter((x) => x.name !== 'reason')), [])).toMatchObject({ needsUpcaster: [], incompatible: [] });
    const aliased = releasedWith((f) => f.map((x) => (x.name === 'quantity' ? { ...x, name: 'units', aliases: ['quantity'] } : x)));
    expect(step(aliased, [])).toMatchObject({ needsUpcaster: [], incompatible: [] });
    const promoted = releasedWith((f) => f.map((x) => (x.name === 'quantity' ? { ...x, type: 'long' } : x)));
    expect(step(promoted, [])).toMatchObject({ needsUpcaster: [], incompatible: [] });
    const optional = releasedWith((f) => f.map((x) => (x.name === 'reason' ? { ...x, type: ['null', 'string'], default: null } : x)));
    expect(step(optional, [])).toMatchObject({ needsUpcaster: [], incompatible: [] });
  });

  it('a rename without alias, a retyped field and a recoded enum need an upcaster; a field without default is incompatible', () => {
    const renamed = releasedWith((f) => f.map((x) => (x.name === 'quantity' ? { name: 'units', type: 'int', default: 0 } : x)));
    expect(step(renamed, []).needsUpcaster.join()).toMatch(/quantity removed while units added with a default/);
    const retyped = releasedWith((f) => f.map((x) => (x.name === 'quantity' ? { ...x, type: 'string' } : x)));
    expect(step(retyped, []).needsUpcaster.join()).toMatch(/StockReleased\.quantity: type changes from int to string/);
    const noDefault = releasedWith((f) => [...f, { name: 'releasedBy', type: 'string' }]);
    expect(step(noDefault, []).incompatible.join()).toMatch(/releasedBy is added without a default/);

    const [violated] = catalog.versions('StorageConditionViolated');
    const schema = structuredClone(violated!.schema) as unknown as { fields: { name: string; type: unknown }[] };
    const condition = schema.fields.find((f) => f.name === 'productStorageCondition')!;
    condition.type = { type: 'enum', name: 'StorageCondition', namespace: 'inventory.events', symbols: ['AMBIENT', 'COLD', 'FROZEN'], default: 'AMBIENT' };
    const recoded = checkStep('StorageConditionViolated', 1, violated!.type, avro.Type.forSchema(schema as unknown as avro.Schema), []);
    expect(recoded.needsUpcaster.join()).toMatch(/productStorageCondition: enum symbols CHILLED are gone/);
  });

  it('a candidate file is checked against the version before the one in its name', () => {
    const schema = catalog.get('StockShipped', 2).schema;
    expect(checkCandidate(catalog, inventoryUpcasters, schema, 'schemas/inventory/StockShipped.v2.avsc')).toMatchObject({ version: 2, accepted: true });
    expect(checkCandidate(catalog, [], schema, 'schemas/inventory/StockShipped.v2.avsc')).toMatchObject({ version: 2, accepted: false });
    // No version in the name: the next one after the catalog's latest.
    const renamed = releasedWith((f) => f.map((x) => (x.name === 'quantity' ? { name: 'units', type: 'int', default: 0 } : x)));
    expect(checkCandidate(catalog, inventoryUpcasters, renamed.schema(), '/tmp/candidate.avsc')).toMatchObject({ version: 2, accepted: false });
    expect(checkCandidate(catalog, inventoryUpcasters, schema, 'StockShipped.v5.avsc')).toMatchObject({ accepted: false });
  });
});
