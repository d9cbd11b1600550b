import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DAY_MS, type LatePolicy } from '../../../src/consumers/aggregators/daily-movements.js';
import { planViews, planViewsByPartition } from '../../../src/consumers/aggregators/inventory-views-plan.js';
import { planSequence } from '../../../src/consumers/sequence-gate.js';
import type { InventoryEvent } from '../../../src/events/generated/inventory.js';
import { planWorkload, workloadEvents } from '../../helpers/inventory-workload.js';
import { applyChanges, emptyModel, lookup, masterData, reference, stockOf, withoutZeros, type ViewModel } from './view-model.js';

const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const events = workloadEvents(planWorkload({ master: masterData, inventories: 30, operations: 300, seed: 23, startTime: T0, spanMs: 3 * DAY_MS }));
const GRACE = 3_600_000;

/** Rounds of batches: round → partition → that partition's events of the round. */
type Rounds = InventoryEvent[][][];

const readyOf = (db: ViewModel, batch: InventoryEvent[]) => {
  const last = new Map([...db.states].map(([p, s]) => [p, s.lastSequenceNr]));
  const items = batch.map((event, position) => ({ event, position, persistenceId: event.data.metadata.persistenceId, sequenceNr: event.data.metadata.sequenceNr }));
  return planSequence(last, items).ready;
};

/** Each round's batches of every partition joined in one plan (what a joint transaction does). */
function joined(rounds: Rounds, lateEvents: LatePolicy) {
  const db = emptyModel();
  const watermarks = new Map<string, number | null>();
  for (const round of rounds) {
    const parts = new Map(round.map((batch, k) => [String(k), readyOf(db, batch)]));
    const c = planViewsByPartition({ states: db.states, parts, master: lookup, watermarks, graceMs: GRACE, lateEvents });
    applyChanges(db, { ...c, watermark: null });
    for (const [k, w] of c.watermarks) watermarks.set(k, w);
  }
  return { db, watermarks };
}

/** The same batches, each partition's planned on its own (one transaction per partition batch). */
function alone(rounds: Rounds, lateEvents: LatePolicy) {
  const db = emptyModel();
  const watermarks = new Map<string, number | null>();
  for (const round of rounds) {
    round.forEach((batch, k) => {
      const c = planViews({ states: db.states, ready: readyOf(db, batch), master: lookup, watermark: watermarks.get(String(k)) ?? null, graceMs: GRACE, lateEvents });
      applyChanges(db, c);
      watermarks.set(String(k), c.watermark);
    });
  }
  return { db, watermarks };
}

describe('inventory views plan over several partitions (a joint transaction)', () => {
  it('property: joining the partitions\' batches gives the views, lateness and watermarks of applying each alone', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 1_000 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.tuple(fc.nat(events.length - 1), fc.integer({ min: 1, max: 4 })), { maxLength: 20 }),
        fc.constantFrom<LatePolicy>('correct', 'dead-letter'),
        (partitions, salt, roundsCount, shifts, lateEvents) => {
          // Some events happened days before their neighbours: late against their own partition's watermark.
          const stream = events.map((e) => e);
          for (const [i, days] of shifts) {
            const e = stream[i]!;
            stream[i] = { ...e, data: { ...e.data, metadata: { ...e.data.metadata, occurredAt: e.data.metadata.occurredAt - days * DAY_MS } } } as InventoryEvent;
          }
          // Ids spread over the partitions (by a salted hash of the id, as keys are by murmur2), each partition's stream cut into rounds.
          const partOf = (pid: string) => [...pid].reduce((h, ch) => (h * 31 + ch.charCodeAt(0) + salt) % 1_000_003, salt) % partitions;
          const perPart = Array.from({ length: partitions }, (_, k) => stream.filter((e) => partOf(e.data.metadata.persistenceId) === k));
          const rounds: Rounds = Array.from({ length: roundsCount }, (_, r) =>
            perPart.map((s) => s.slice(Math.floor((s.length * r) / roundsCount), Math.floor((s.length * (r + 1)) / roundsCount))),
          );
          const a = joined(rounds, lateEvents);
          const b = alone(rounds, lateEvents);
          expect(withoutZeros(a.db.zone)).toEqual(withoutZeros(b.db.zone));
          expect(withoutZeros(a.db.category)).toEqual(withoutZeros(b.db.category));
          expect(withoutZeros(a.db.daily)).toEqual(withoutZeros(b.db.daily));
          expect(a.db.states).toEqual(b.db.states);
          expect(a.db.alerts).toEqual(b.db.alerts);
          expect([...a.db.lateEventIds].sort()).toEqual([...b.db.lateEventIds].sort());
          expect([...a.db.deadLettered].sort()).toEqual([...b.db.deadLettered].sort());
          expect(a.watermarks).toEqual(b.watermarks);
          // And the stock equals the reference from scratch.
          const ref = reference(stream);
          expect(stockOf(a.db.states)).toEqual(ref.states);
          expect(withoutZeros(a.db.zone)).toEqual(withoutZeros(ref.zone));
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);
});
