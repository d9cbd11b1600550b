/**
 * Every Kafka consumer group name the pipeline uses, built in one place.
 *
 * Live groups are `<GROUP_PREFIX><name>` (what `/lag`, the dashboards and the
 * alerts watch). Everything else the pipeline creates is *internal* and
 * carries a fixed marker so that the lag monitor can leave it out without a
 * list of regular expressions scattered over the code:
 * - `<live>.rebuild`: a rebuild's catch-up group (reported as a rebuild in
 *   progress, never as an unhealthy consumer);
 * - `_pipeline.<purpose>...`: short-lived readers (DLQ listing, probes) that
 *   are deleted after use.
 */
import { randomBytes } from 'node:crypto';

export const INTERNAL_GROUP_PREFIX = '_pipeline.';
export const REBUILD_SUFFIX = '.rebuild';

/** The live consumer group of a consumer (`inventory-projector`, `inventory-views`) under a prefix. */
export const liveGroupId = (prefix: string, name: string): string => `${prefix}${name}`;

/** The catch-up group of a rebuild of `liveGroup`. */
export const rebuildGroupId = (liveGroup: string): string => `${liveGroup}${REBUILD_SUFFIX}`;

/** A short-lived internal reader's group (unique per use; delete it when done). */
export const internalGroupId = (purpose: string, unique: string): string => `${INTERNAL_GROUP_PREFIX}${purpose}.${unique}`;

/**
 * A fresh internal group id for one use, `_pipeline.<purpose>.<created, base 36 ms>-<random>`: the
 * creation time in the name lets a sweep tell a group left by a crashed
 * process (old, Empty) from one another process is using right now.
 */
export const freshInternalGroupId = (purpose: string, nowMs: number = Date.now()): string =>
  internalGroupId(purpose, `${nowMs.toString(36)}-${randomBytes(4).toString('hex')}`);

/** Creation time (ms) of a {@link freshInternalGroupId}; undefined for any other name. */
export function internalGroupCreatedAt(groupId: string): number | undefined {
  if (!groupId.startsWith(INTERNAL_GROUP_PREFIX)) return undefined;
  const m = /\.([0-9a-z]+)-[0-9a-f]+$/.exec(groupId);
  if (!m) return undefined;
  const ms = parseInt(m[1]!, 36);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** What a group is to the lag monitor: a live consumer, a rebuild's catch-up, or one of the pipeline's own readers. */
export type GroupKind = 'live' | 'rebuild' | 'internal';

export const groupKind = (groupId: string): GroupKind =>
  isInternalGroup(groupId) ? 'internal' : isRebuildGroup(groupId) ? 'rebuild' : 'live';

export const isRebuildGroup = (groupId: string): boolean => groupId.endsWith(REBUILD_SUFFIX);

/** Groups the pipeline made for itself: never shown as consumers, never alerted on. */
export const isInternalGroup = (groupId: string): boolean =>
  groupId.startsWith(INTERNAL_GROUP_PREFIX) ||
  // Names of earlier releases, still found on clusters that ran them.
  groupId.startsWith('_cdc-bridge-checkpoint-reader-') ||
  groupId.startsWith('dlq-reader-') ||
  groupId.startsWith('stack-probe');
