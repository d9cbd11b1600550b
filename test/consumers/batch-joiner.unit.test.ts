import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createBatchJoiner, JointRunError } from '../../src/consumers/batch-joiner.js';

interface Item {
  id: number;
  size: number;
}

/** A joiner over plain items whose runs are recorded and finish when the test says. */
function recorded(slots: number, maxWeight: number, fail?: (items: Item[]) => unknown) {
  const runs: Item[][] = [];
  const pending: (() => void)[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const joiner = createBatchJoiner<Item, string>({
    slots,
    maxWeight,
    weight: (i) => i.size,
    run: (items) => {
      runs.push(items);
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      return new Promise<string[]>((resolve, reject) => {
        pending.push(() => {
          running--;
          const err = fail?.(items);
          if (err) reject(err instanceof Error ? err : new Error(String(err)));
          else resolve(items.map((i) => `done ${i.id} with ${items.length}`));
        });
      });
    },
  });
  const finishAll = async () => {
    while (pending.length > 0) {
      pending.splice(0).forEach((f) => f());
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
    }
  };
  return { joiner, runs, finishAll, mostAtOnce: () => mostAtOnce };
}

describe('batch joiner', () => {
  it('runs what is submitted in one turn of the event loop as one run, each getting its own result', async () => {
    const { joiner, runs, finishAll } = recorded(3, 100);
    const results = [1, 2, 3, 4, 5, 6].map((id) => joiner.submit({ id, size: 5 }));
    await new Promise((r) => setImmediate(r));
    await finishAll();
    expect(await Promise.all(results)).toEqual([1, 2, 3, 4, 5, 6].map((id) => `done ${id} with 6`));
    expect(runs.map((r) => r.map((i) => i.id))).toEqual([[1, 2, 3, 4, 5, 6]]);
  });

  it('keeps a run within maxWeight (a heavy item runs alone) and runs at most `slots` at once, in submission order', async () => {
    const { joiner, runs, finishAll, mostAtOnce } = recorded(2, 10);
    const sizes = [10, 10, 4, 4, 4, 10, 1];
    const results = sizes.map((size, id) => joiner.submit({ id, size }));
    await new Promise((r) => setImmediate(r));
    expect(runs.length).toBe(2); // two slots: the rest waits
    await finishAll();
    await Promise.all(results);
    expect(runs.map((r) => r.map((i) => i.id))).toEqual([[0], [1], [2, 3], [4], [5], [6]]);
    expect(mostAtOnce()).toBe(2);
  });

  it('passes a lone item its own error, and gives every item of a failed joint run a JointRunError with the cause', async () => {
    const boom = new Error('deadlock detected');
    const { joiner, finishAll } = recorded(1, 100, () => boom);
    const alone = joiner.submit({ id: 1, size: 1 });
    const aloneSettled = alone.catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    await finishAll();
    expect(await aloneSettled).toBe(boom);

    const joint = [2, 3].map((id) => joiner.submit({ id, size: 1 }).catch((e: unknown) => e));
    await new Promise((r) => setImmediate(r));
    await finishAll();
    for (const e of await Promise.all(joint)) {
      expect(e).toBeInstanceOf(JointRunError);
      expect((e as JointRunError).cause).toBe(boom);
      expect((e as JointRunError).items).toBe(2);
    }
  });

  it('every submitted item is run exactly once and settles, whatever the slots, weights and arrival turns', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 25 }), fc.boolean()), { minLength: 1, maxLength: 30 }),
        async (slots, maxWeight, items) => {
          const { joiner, runs, finishAll, mostAtOnce } = recorded(slots, maxWeight);
          const results: Promise<string>[] = [];
          for (const [i, [size, newTurn]] of items.entries()) {
            if (newTurn) await new Promise((r) => setImmediate(r));
            results.push(joiner.submit({ id: i, size }));
          }
          await new Promise((r) => setImmediate(r));
          await finishAll();
          expect((await Promise.all(results)).length).toBe(items.length);
          expect(runs.flat().map((i) => i.id)).toEqual(items.map((_, i) => i));
          for (const run of runs) {
            if (run.length > 1) expect(run.reduce((n, i) => n + i.size, 0)).toBeLessThanOrEqual(maxWeight);
          }
          expect(mostAtOnce()).toBeLessThanOrEqual(slots);
        },
      ),
      { numRuns: 200 },
    );
  });
});
