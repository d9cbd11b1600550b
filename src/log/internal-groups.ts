import type { LogAdmin as Admin } from './port.js';
import { errorMessage } from '../shared/errors.js';
import { freshInternalGroupId, internalGroupCreatedAt } from '../shared/group-names.js';
import type { Logger } from '../shared/logger.js';
import { sleep } from '../shared/retry.js';

/** Group names of earlier releases' checkpoint readers, never deleted by them. */
const LEGACY_READER_PREFIX = '_cdc-bridge-checkpoint-reader-';

/** An internal group this old is no longer in use: no read of ours runs anywhere near this long. */
const STALE_AFTER_MS = 10 * 60_000;

interface GroupError {
  groupId?: string;
  error?: { type?: string };
}

/** `admin.deleteGroups` of one group, tolerating "already gone"; retries while the coordinator still sees a member. */
async function deleteGroup(admin: Admin, groupId: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.deleteGroups([groupId]);
      return;
    } catch (err) {
      const type = ((err as { groups?: GroupError[] }).groups ?? []).find((g) => g.groupId === groupId)?.error?.type;
      if (type === 'GROUP_ID_NOT_FOUND') return;
      // A member that just left may still be listed for a moment (LeaveGroup and the delete race on the coordinator).
      if (type === 'NON_EMPTY_GROUP' && attempt < 5) {
        await sleep(200 * attempt);
        continue;
      }
      throw err;
    }
  }
}

/**
 * Deletes internal groups that crashed processes left behind: Empty groups
 * whose name says they were made more than {@link STALE_AFTER_MS} ago, and
 * the checkpoint readers of earlier releases. A group in use is never Empty
 * (it has a member), and deleting one that a reader is about to join only
 * makes that reader's join retry, so this is safe to run at any time.
 * Best effort: a failure is logged at debug and left for the next sweep.
 */
export async function sweepInternalGroups(admin: Admin, logger: Logger, nowMs: number = Date.now()): Promise<string[]> {
  try {
    const candidates = (await admin.listGroups()).groups
      .map((g) => g.groupId)
      .filter((id) => {
        if (id.startsWith(LEGACY_READER_PREFIX)) return true;
        const created = internalGroupCreatedAt(id);
        return created !== undefined && created < nowMs - STALE_AFTER_MS;
      });
    if (candidates.length === 0) return [];
    const empty = (await admin.describeGroups(candidates)).groups.filter((g) => g.state === 'Empty').map((g) => g.groupId);
    const deleted: string[] = [];
    for (const id of empty) {
      await deleteGroup(admin, id).then(
        () => deleted.push(id),
        (err: unknown) => logger.debug({ group: id, err: errorMessage(err) }, 'could not delete a stale internal group'),
      );
    }
    if (deleted.length > 0) logger.info({ count: deleted.length }, 'deleted internal consumer groups left by earlier processes');
    return deleted;
  } catch (err) {
    logger.debug({ err: errorMessage(err) }, 'internal group sweep failed');
    return [];
  }
}

/**
 * Runs `use(groupId)` with a consumer group made for this one read and
 * deletes the group afterwards (after `use` settles, whether it succeeded or
 * not; `use` must have disconnected its consumer by then). The group carries
 * the internal marker of src/shared/group-names.ts, so even while it exists
 * the lag monitor does not show it; if the process dies before the delete,
 * a later {@link sweepInternalGroups} removes it.
 *
 * Why a group at all: kafkajs has no `assign()`, and its consumer is the only
 * public API that reads with read_committed isolation (dropping aborted
 * transactions' records and control records). Reading with the low-level
 * fetch would mean re-implementing that on private kafkajs internals; a
 * deleted group costs one JoinGroup and one DeleteGroups round trip.
 */
export async function withInternalGroup<T>(options: {
  admin: Admin;
  purpose: string;
  logger: Logger;
  use: (groupId: string) => Promise<T>;
  /** Run {@link sweepInternalGroups} first (default true; a caller reading often sweeps now and then). */
  sweep?: boolean;
}): Promise<T> {
  const { admin, purpose, logger, use, sweep = true } = options;
  if (sweep) await sweepInternalGroups(admin, logger);
  const groupId = freshInternalGroupId(purpose);
  try {
    return await use(groupId);
  } finally {
    await deleteGroup(admin, groupId).catch((err: unknown) =>
      logger.warn({ group: groupId, err: errorMessage(err) }, 'could not delete an internal consumer group; a later sweep will'),
    );
  }
}
