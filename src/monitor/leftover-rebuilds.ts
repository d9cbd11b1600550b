import { REBUILD_SUFFIX } from '../shared/group-names.js';
import type { Logger } from '../shared/logger.js';
import type { LagSnapshot } from './lag-snapshot.js';

/**
 * A rebuild group with no consumer for two polls in a row is what a crashed
 * or abandoned rebuild left: said once (per group, until it is running or
 * gone again) as a warning with the commands that settle it — never as an
 * unhealthy consumer, never paged on.
 */
export function createLeftoverRebuildReporter(logger: Logger): (snap: LagSnapshot) => void {
  const idleRebuilds = new Map<string, 'seen' | 'reported'>();
  return (snap) => {
    const idle = new Set(snap.groups.filter((g) => g.kind === 'rebuild' && g.members === 0).map((g) => g.group));
    for (const group of idleRebuilds.keys()) if (!idle.has(group)) idleRebuilds.delete(group);
    for (const group of idle) {
      const seen = idleRebuilds.get(group);
      if (seen === undefined) idleRebuilds.set(group, 'seen');
      else if (seen === 'seen') {
        idleRebuilds.set(group, 'reported');
        const live = group.slice(0, -REBUILD_SUFFIX.length);
        logger.warn(
          { group },
          `an unfinished rebuild was left behind (${group}, no consumer): resume it with \`npm run cli -- rebuild <consumer>\` or discard it with \`rebuild <consumer> --abort\` (live group ${live})`,
        );
      }
    }
  };
}
