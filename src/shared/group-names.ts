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
export const INTERNAL_GROUP_PREFIX = '_pipeline.';
export const REBUILD_SUFFIX = '.rebuild';

/** The live consumer group of a consumer (`inventory-projector`, `inventory-views`) under a prefix. */
export const liveGroupId = (prefix: string, name: string): string => `${prefix}${name}`;

/** The catch-up group of a rebuild of `liveGroup`. */
export const rebuildGroupId = (liveGroup: string): string => `${liveGroup}${REBUILD_SUFFIX}`;

/** A short-lived internal reader's group (unique per use; delete it when done). */
export const internalGroupId = (purpose: string, unique: string): string => `${INTERNAL_GROUP_PREFIX}${purpose}.${unique}`;

export const isRebuildGroup = (groupId: string): boolean => groupId.endsWith(REBUILD_SUFFIX);

/** Groups the pipeline made for itself: never shown as consumers, never alerted on. */
export const isInternalGroup = (groupId: string): boolean =>
  groupId.startsWith(INTERNAL_GROUP_PREFIX) ||
  // Names of earlier releases, still found on clusters that ran them.
  groupId.startsWith('_cdc-bridge-checkpoint-reader-') ||
  groupId.startsWith('dlq-reader-') ||
  groupId.startsWith('stack-probe');
