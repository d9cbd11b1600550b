/**
 * Per-persistence-id ordering (seed 000 §9.3, improved), as a pure function.
 * Given the last applied sequence number of each id and a set of candidate
 * events, it splits them into:
 * - ready: per id, the contiguous run last+1, last+2, … in sequence order;
 * - duplicates: seq ≤ last, or a second copy of a seq within the batch;
 * - gaps: per id, the first missing range [from, to] and the events waiting
 *   behind it (they must not apply before the range is filled).
 * Stream order across items is never trusted: only sequence numbers are.
 */
export interface Sequenced {
  persistenceId: string;
  sequenceNr: number;
}

export interface Gap<T> {
  persistenceId: string;
  from: number;
  to: number;
  waiting: T[];
}

export interface SequencePlan<T> {
  ready: Map<string, T[]>;
  duplicates: T[];
  gaps: Gap<T>[];
}

export function planSequence<T extends Sequenced>(last: ReadonlyMap<string, number>, events: readonly T[]): SequencePlan<T> {
  const byId = new Map<string, T[]>();
  for (const e of events) {
    const list = byId.get(e.persistenceId);
    if (list) list.push(e);
    else byId.set(e.persistenceId, [e]);
  }
  const ready = new Map<string, T[]>();
  const duplicates: T[] = [];
  const gaps: Gap<T>[] = [];
  for (const [pid, list] of byId) {
    list.sort((a, b) => a.sequenceNr - b.sequenceNr);
    let expected = (last.get(pid) ?? 0) + 1;
    const run: T[] = [];
    let i = 0;
    for (; i < list.length; i++) {
      const e = list[i]!;
      if (e.sequenceNr < expected) duplicates.push(e);
      else if (e.sequenceNr === expected) {
        run.push(e);
        expected++;
      } else break;
    }
    if (run.length > 0) ready.set(pid, run);
    if (i < list.length) {
      const waiting: T[] = [];
      let prev = -1;
      for (; i < list.length; i++) {
        const e = list[i]!;
        if (e.sequenceNr === prev) duplicates.push(e);
        else waiting.push(e);
        prev = e.sequenceNr;
      }
      gaps.push({ persistenceId: pid, from: expected, to: waiting[0]!.sequenceNr - 1, waiting });
    }
  }
  return { ready, duplicates, gaps };
}

/**
 * The gate with gap repair, shared by every ordered handler: plans, asks
 * `fill` for each missing range (the journal, by persistence id), and plans
 * again, up to `attempts` times with exponential delay (the journal may lag
 * the topic for a moment). Whatever still waits behind a gap afterwards is
 * the caller's to park.
 */
export async function gateWithRepair<T extends Sequenced>(
  last: ReadonlyMap<string, number>,
  candidates: readonly T[],
  fill: (gap: Gap<T>) => Promise<T[]>,
  o: { attempts: number; delayMs: number },
): Promise<{ plan: SequencePlan<T>; repaired: number }> {
  let all = [...candidates];
  let plan = planSequence(last, all);
  let repaired = 0;
  for (let attempt = 0; plan.gaps.length > 0 && attempt < o.attempts; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, o.delayMs * 2 ** attempt));
    const found = (await Promise.all(plan.gaps.map(fill))).flat();
    if (found.length === 0) continue;
    repaired += found.length;
    all = [...all, ...found];
    plan = planSequence(last, all);
  }
  return { plan, repaired };
}
