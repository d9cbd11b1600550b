/**
 * The error every item of a joint run gets when the run failed with more than
 * one item in it: the cause may be any item's, so none of them may count it
 * as its own failure (see runner.ts: each applies alone next, where a failure
 * is its own).
 */
export class JointRunError extends Error {
  constructor(
    readonly items: number,
    override readonly cause: unknown,
  ) {
    super(`a joint transaction of ${items} batches failed`, { cause });
    this.name = 'JointRunError';
  }
}

export interface BatchJoiner<T, R> {
  /** Runs `item` with whatever else is submitted in the same turn of the event loop, or while no slot is free. */
  submit(item: T): Promise<R>;
}

export interface BatchJoinerOptions<T, R> {
  /** Runs at once (each holds a PostgreSQL connection). */
  slots: number;
  /** A run takes queued items, in order, while their weights add up to at most this (always at least one item). */
  maxWeight: number;
  weight: (item: T) => number;
  /** One result per item, in order. */
  run: (items: T[]) => Promise<R[]>;
}

/**
 * Joins the items submitted at about the same time into one run: what is
 * submitted within one turn of the event loop (the batches kafkajs hands over
 * from one fetch arrive together) waits for the next turn, then the queue
 * goes in runs of at most `maxWeight`, at most `slots` runs at once (a queue
 * that finds no free slot waits for one and joins whatever came meanwhile).
 * Small batches (at the head of the topic) thus share one run; full ones
 * (catching up) run alone and side by side, as they would unjoined.
 *
 * A run of one item passes its error through; a run of several rejects each
 * with {@link JointRunError}.
 */
export function createBatchJoiner<T, R>(options: BatchJoinerOptions<T, R>): BatchJoiner<T, R> {
  const { slots, maxWeight, weight, run } = options;
  if (!Number.isInteger(slots) || slots < 1) throw new Error(`slots must be a positive integer, got ${slots}`);
  if (!(maxWeight > 0)) throw new Error(`maxWeight must be positive, got ${maxWeight}`);
  interface Waiting {
    item: T;
    resolve: (r: R) => void;
    reject: (e: unknown) => void;
  }
  const queue: Waiting[] = [];
  let running = 0;
  let scheduled = false;

  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(start);
  };

  function start() {
    scheduled = false;
    while (running < slots && queue.length > 0) launch(take());
  }

  function take(): Waiting[] {
    let n = 1;
    let total = weight(queue[0]!.item);
    while (n < queue.length && total + weight(queue[n]!.item) <= maxWeight) total += weight(queue[n++]!.item);
    return queue.splice(0, n);
  }

  function launch(taken: Waiting[]) {
    running++;
    let ran: Promise<R[]>;
    try {
      ran = run(taken.map((w) => w.item));
    } catch (err) {
      ran = Promise.reject(err);
    }
    ran
      .then(
        (results) => {
          if (results.length !== taken.length) throw new Error(`a joint run returned ${results.length} results for ${taken.length} items`);
          taken.forEach((w, i) => w.resolve(results[i]!));
        },
        (err: unknown) => {
          for (const w of taken) w.reject(taken.length === 1 ? err : new JointRunError(taken.length, err));
        },
      )
      .catch((err: unknown) => {
        for (const w of taken) w.reject(err);
      })
      .finally(() => {
        running--;
        if (queue.length > 0) schedule();
      });
  }

  return {
    submit(item) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        schedule();
      });
    },
  };
}
