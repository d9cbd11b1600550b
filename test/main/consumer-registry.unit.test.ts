import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { CONSUMERS, consumerNamed } from '../../src/main/consumer-registry.js';
import { statusGroups } from '../../src/main/commands/status.js';
import { parseRoles, ROLES } from '../../src/main/run.js';

describe('consumer registry', () => {
  it('derives the roles: the bridge, one per consumer group, the monitor and the API', () => {
    expect(ROLES).toEqual(['bridge', 'projector', 'views', 'monitor', 'api']);
    expect(parseRoles('views,bridge')).toEqual(['views', 'bridge']);
    expect(() => parseRoles('viewz')).toThrow(/unknown role\(s\) viewz/);
  });

  it("agrees with the configuration's ROLES (its default runs every role)", () => {
    expect(loadConfig({}).roles).toEqual([...ROLES]);
  });

  it('derives the groups status watches and the names rebuild takes', () => {
    expect(statusGroups('staging.', 'all')).toEqual(['staging.inventory-projector', 'staging.inventory-views']);
    expect(statusGroups('staging.', ['x'])).toEqual(['x']);
    expect(consumerNamed('inventory-views')?.role).toBe('views');
    expect(consumerNamed('views')).toBeUndefined();
  });

  it('gives every group its own name, role and tables', () => {
    const tables = CONSUMERS.flatMap((c) => c.tables.map((t) => t.live));
    expect(new Set(tables).size).toBe(tables.length);
    expect(new Set(CONSUMERS.map((c) => c.name)).size).toBe(CONSUMERS.length);
    expect(new Set(CONSUMERS.map((c) => c.role)).size).toBe(CONSUMERS.length);
    expect(consumerNamed('inventory-projector')?.tables).toEqual([{ live: 'inventories' }, { live: 'inventory_movements' }]);
  });
});
