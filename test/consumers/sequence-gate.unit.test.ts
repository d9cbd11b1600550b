import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planSequence } from '../../src/consumers/sequence-gate.js';

const ev = (persistenceId: string, sequenceNr: number) => ({ persistenceId, sequenceNr });

describe('sequence gate (pure)', () => {
  it('applies in order, drops duplicates, reports the first gap with what waits behind it', () => {
    const plan = planSequence(new Map([['a', 2]]), [ev('a', 5), ev('a', 3), ev('a', 2), ev('a', 3), ev('b', 1), ev('b', 2), ev('a', 6)]);
    expect(plan.ready.get('a')).toEqual([ev('a', 3)]);
    expect(plan.ready.get('b')).toEqual([ev('b', 1), ev('b', 2)]);
    expect(plan.duplicates).toEqual([ev('a', 2), ev('a', 3)]);
    expect(plan.gaps).toEqual([{ persistenceId: 'a', from: 4, to: 4, waiting: [ev('a', 5), ev('a', 6)] }]);
  });

  it('any shuffling, duplication and splitting of a gapless history applies every event exactly once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.infiniteStream(fc.nat()),
        (lengths, chunks, rnd) => {
          const history = lengths.flatMap((n, id) => Array.from({ length: n }, (_, i) => ev(`p${id}`, i + 1)));
          const noisy = [...history, ...history.filter(() => rnd.next().value % 3 === 0)];
          noisy.sort(() => (rnd.next().value % 2 === 0 ? -1 : 1));
          const last = new Map<string, number>();
          const applied: string[] = [];
          let pending: typeof noisy = [];
          const size = Math.ceil(noisy.length / chunks);
          for (let i = 0; i < noisy.length; i += size) {
            const plan = planSequence(last, [...pending, ...noisy.slice(i, i + size)]);
            for (const [pid, run] of plan.ready) {
              for (const e of run) applied.push(`${pid}:${e.sequenceNr}`);
              last.set(pid, run.at(-1)!.sequenceNr);
            }
            pending = plan.gaps.flatMap((g) => g.waiting); // parked until more arrive
          }
          expect(applied.sort()).toEqual(history.map((e) => `${e.persistenceId}:${e.sequenceNr}`).sort());
        },
      ),
      { numRuns: 300 },
    );
  });
});
