import type { LogAdmin } from '../log/port.js';
import { errorMessage, PipelineError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { sleep } from '../shared/retry.js';

/**
 * The Kafka side of a rebuild's cleanup: its consumer group and its
 * dead-letter topic.
 */
interface GroupError {
  groupId?: string;
  error?: { type?: string };
}

function typeOf(err: unknown, groupId: string): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { groups?: GroupError[]; type?: string };
  return (e.groups ?? []).find((g) => g.groupId === groupId)?.error?.type ?? e.type;
}

/**
 * Deletes a consumer group and its committed offsets, waiting for it to be
 * empty: a member that left cleanly is gone at once, one of a killed process
 * only when its session times out (30 s), and Kafka refuses to delete a group
 * with members. Returns whether there was a group. Throws REBUILD_GROUP_BUSY
 * if the group still has members after `timeoutMs`.
 */
export async function deleteGroupWhenEmpty(
  admin: LogAdmin,
  groupId: string,
  { timeoutMs = 60_000, logger, signal }: { timeoutMs?: number; logger: Logger; signal?: AbortSignal | undefined },
): Promise<'deleted' | 'absent'> {
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      await admin.deleteGroups([groupId]);
      return 'deleted';
    } catch (err) {
      const type = typeOf(err, groupId);
      if (type === 'GROUP_ID_NOT_FOUND') return 'absent';
      const busy = type === 'NON_EMPTY_GROUP';
      const transient = type === 'COORDINATOR_LOAD_IN_PROGRESS' || type === 'COORDINATOR_NOT_AVAILABLE' || type === 'NOT_COORDINATOR';
      if (!busy && !transient) throw err;
      if (Date.now() > deadline || signal?.aborted) {
        throw new PipelineError(
          'REBUILD_GROUP_BUSY',
          `consumer group ${groupId} still has members after ${Math.round(timeoutMs / 1000)} s (${type}); is another process consuming with it?`,
          { cause: err },
        );
      }
      if (busy && !told) {
        told = true;
        logger.info({ group: groupId }, 'waiting for the members of the consumer group to leave (a killed process is dropped after its session timeout)');
      }
      await sleep(1000, signal);
    }
  }
}

/**
 * Deletes a topic if it holds no records (`deleted`), leaves it when it does
 * (`kept`, with the count) unless `force`; `absent` when there is none.
 */
export async function deleteTopicIfEmpty(
  admin: LogAdmin,
  topic: string,
  { force = false, logger }: { force?: boolean; logger: Logger },
): Promise<{ result: 'deleted' | 'kept' | 'absent'; records: number }> {
  if (!(await admin.listTopics()).includes(topic)) return { result: 'absent', records: 0 };
  const records = (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
  if (records > 0 && !force) return { result: 'kept', records };
  try {
    await admin.deleteTopics({ topics: [topic] });
  } catch (err) {
    logger.warn({ topic, err: errorMessage(err) }, 'could not delete the topic');
    return { result: 'kept', records };
  }
  return { result: 'deleted', records };
}
