import type { LogAdmin, LogClient } from './port.js';

/**
 * One admin connection shared by the calls of a long-lived reader (the lag
 * monitor, the offset sync): connected on first use, and dropped — to be
 * connected afresh on the next use — after a failure, since kafkajs clients
 * keep broken metadata (a deleted topic, a dead broker) for good.
 */
export interface SharedAdmin {
  /** The connected admin; a failed connection is not kept (the next call tries again). */
  get(): Promise<LogAdmin>;
  /** Disconnects and forgets it (after a failed call, and on stop). */
  drop(): Promise<void>;
}

export function createSharedAdmin(kafka: LogClient, onConnectError: (err: unknown) => unknown = (err) => err): SharedAdmin {
  let admin: Promise<LogAdmin> | undefined;
  return {
    get() {
      admin ??= (async () => {
        const a = kafka.admin();
        await a.connect();
        return a;
      })().catch((err: unknown) => {
        admin = undefined;
        throw onConnectError(err);
      });
      return admin;
    },
    async drop() {
      const a = admin;
      admin = undefined;
      await a?.then((x) => x.disconnect()).catch(() => undefined);
    },
  };
}
