import { describe, expect, it } from 'vitest';
import {
  freshInternalGroupId,
  groupKind,
  internalGroupCreatedAt,
  internalGroupId,
  isInternalGroup,
  liveGroupId,
  rebuildGroupId,
} from '../../src/shared/group-names.js';

describe('consumer group names', () => {
  it('classifies live, rebuild and internal groups', () => {
    const live = liveGroupId('acme-', 'inventory-projector');
    expect(groupKind(live)).toBe('live');
    expect(groupKind(rebuildGroupId(live))).toBe('rebuild');
    expect(groupKind(internalGroupId('dlq-reader', 'x'))).toBe('internal');
    expect(groupKind(freshInternalGroupId('checkpoint-reader'))).toBe('internal');
    // Names of earlier releases stay internal.
    expect(isInternalGroup('_cdc-bridge-checkpoint-reader-1b4e28ba-2fa1-11d2-883f-0016d3cca427')).toBe(true);
    expect(isInternalGroup('dlq-reader-0a1b2c3d')).toBe(true);
  });

  it('fresh internal ids are unique and carry their creation time', () => {
    const t = Date.parse('2024-05-01T12:00:00Z');
    const a = freshInternalGroupId('checkpoint-reader', t);
    const b = freshInternalGroupId('checkpoint-reader', t);
    expect(a).not.toBe(b);
    expect(a.startsWith('_pipeline.checkpoint-reader.')).toBe(true);
    expect(internalGroupCreatedAt(a)).toBe(t);
  });

  it('has no creation time for other names', () => {
    expect(internalGroupCreatedAt('inventory-projector')).toBeUndefined();
    expect(internalGroupCreatedAt('_cdc-bridge-checkpoint-reader-1b4e28ba')).toBeUndefined();
    expect(internalGroupCreatedAt(internalGroupId('dlq-reader', 'verify'))).toBeUndefined();
  });
});
