import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Journal, JournalRecord } from '../../src/command/journal.js';
import type { ConsumedEvent } from '../../src/consumers/handler.js';
import { createOrderedHandler, type Candidate, type Decisions, type OrderedEvent, type OrderedView } from '../../src/consumers/ordered-handler.js';
import { latestVersions } from '../../src/events/generated/inventory.js';
import type { EventSerde } from '../../src/events/serde.js';
import { withTransaction } from '../../src/db/db.js';
import { migrate } from '../../src/db/migrate.js';
import { journalFor, writeHistory } from '../helpers/pipeline.js';
import { serdeFor } from '../helpers/schemas.js';
import { createTestDatabase, testLogger, uniqueName, type TestDatabase } from '../helpers/stack.js';

/**
 * The ordered-handler core under the smallest view there is (events counted
 * per id), against real PostgreSQL and the real journal: what any view built
 * on it gets — duplicates counted, gaps repaired from the journal, parked and
 * unparked, unhandled events skipped and counted.
 */
describe('ordered-handler core (real PostgreSQL, DynamoDB journal)', () => {
  const topic = uniqueName('ordered.events');
  let db: TestDatabase;
  let journal: Journal;
  let serde: EventSerde<OrderedEvent>;
  let records: JournalRecord[];
  let offset = 0;

  type Planned = Decisions<Candidate<OrderedEvent>> & { counts: Map<string, { n: number; last: number }> };
  const view: OrderedView<OrderedEvent, Map<string, { n: number; last: number }>, Planned> = {
    views: ['toy_counts'],
    canHandle: (e) => e.type !== 'Heartbeat',
    async load(tx, pids) {
      const { rows } = await tx.query<{ persistence_id: string; n: number; last_sequence_nr: number }>(
        'select persistence_id, n, last_sequence_nr::int from toy_counts where persistence_id = any($1) for update',
        [pids],
      );
      const state = new Map(rows.map((r) => [r.persistence_id, { n: r.n, last: r.last_sequence_nr }]));
      return { last: new Map([...state].map(([pid, s]) => [pid, s.last])), state };
    },
    async plan(_tx, state, ready) {
      const counts = new Map<string, { n: number; last: number }>();
      const applied: Candidate<OrderedEvent>[] = [];
      for (const [pid, run] of ready) {
        const s = { ...(state.get(pid) ?? { n: 0, last: 0 }) };
        for (const c of run) {
          s.n++;
          s.last = c.sequenceNr;
          applied.push(c);
        }
        counts.set(pid, s);
      }
      return { counts, applied, rejected: [], held: [] };
    },
    async write(tx, planned) {
      for (const [pid, s] of planned.counts) {
        await tx.query(
          `insert into toy_counts values ($1, $2, $3) on conflict (persistence_id) do update set n = excluded.n, last_sequence_nr = excluded.last_sequence_nr`,
          [pid, s.n, s.last],
        );
      }
    },
  };

  const consumed = (event: OrderedEvent): ConsumedEvent<OrderedEvent> => ({
    topic, partition: 0, offset: offset++, key: event.data.metadata.persistenceId, event, eventType: event.type,
    writerVersion: undefined, sourceWrittenAt: undefined, timestamp: Date.now(), headers: {}, raw: null,
  });
  const fromJournal = (r: JournalRecord) => consumed(serde.decodeRaw(r.eventType, r.schemaVersion, r.payload));
  const of = (pid: string, seq: number) => records.find((r) => r.persistenceId === pid && r.sequenceNr === seq)!;
  const handler = () =>
    createOrderedHandler({ view, journal, serde, pool: db.pool, logger: testLogger, groupId: 'toy', latestVersions, gapAttempts: 1, gapDelayMs: 10 });
  const counts = async () =>
    Object.fromEntries((await db.pool.query<{ persistence_id: string; n: number }>('select persistence_id, n from toy_counts')).rows.map((r) => [r.persistence_id, r.n]));

  beforeAll(async () => {
    db = await createTestDatabase('ordered');
    await migrate(db.pool, 'migrations');
    await db.pool.query('create table toy_counts (persistence_id text primary key, n integer not null, last_sequence_nr bigint not null)');
    journal = await journalFor(uniqueName('journal'));
    serde = await serdeFor<OrderedEvent>(topic);
    records = await writeHistory(journal, 2, 3, 'OH');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('counts duplicates, repairs a gap from the journal, and skips (counts) what the view does not handle', async () => {
    const [a, b] = [...new Set(records.map((r) => r.persistenceId))] as [string, string];
    const heartbeat: OrderedEvent = {
      type: 'Heartbeat',
      data: { metadata: { persistenceId: '__heartbeat', sequenceNr: 7, occurredAt: Date.now() } },
    };
    const batch = [fromJournal(of(a, 1)), fromJournal(of(a, 2)), fromJournal(of(a, 2)), consumed(heartbeat), fromJournal(of(a, 3)), fromJournal(of(b, 2))];
    const outcome = await withTransaction(db.pool, (tx) => handler().applyBatch(batch, tx));
    expect(outcome).toMatchObject({ applied: 4, duplicates: 1, gapsRepaired: 1, ignored: 1, parked: 0, rejected: [] });
    expect(await counts()).toEqual({ [a]: 3, [b]: 2 });
    // The heartbeat's id is not a stream of this view: nothing waits for its sequence numbers.
    expect((await db.pool.query('select 1 from parked_events where group_id = $1', ['toy'])).rowCount).toBe(0);
  });

  it('parks what waits behind a gap the journal cannot fill yet, and unparks it once it can', async () => {
    const pid = uniqueName('inventory-OHLATE');
    const created = { inventoryId: pid, productId: 'P-1', warehouseId: 'WH-TYO', zoneId: 'WH-TYO-AMBIENT', productStorageCondition: 'AMBIENT', zoneType: 'AMBIENT' };
    const receipt = { quantity: 5, lotNumber: 'L', supplierId: null, expiryDate: null };
    const third: OrderedEvent = { type: 'StockReceived', data: { metadata: { persistenceId: pid, sequenceNr: 3, occurredAt: Date.now() } } };
    const outcome = await withTransaction(db.pool, (tx) => handler().applyBatch([consumed(third)], tx));
    expect(outcome).toMatchObject({ applied: 0, parked: 1 });
    const parked = await db.pool.query<{ reason: string; origin: { topic: string } }>('select reason, origin from parked_events where group_id = $1 and persistence_id = $2', ['toy', pid]);
    expect(parked.rows).toEqual([{ reason: 'GAP', origin: expect.objectContaining({ topic, partition: 0 }) }]);

    await journal.append({ persistenceId: pid, expectedSequenceNr: 0, events: [{ type: 'InventoryCreated', data: created }, { type: 'StockReceived', data: receipt }] });
    await handler().maintain!();
    expect((await counts())[pid]).toBe(3);
    expect((await db.pool.query('select 1 from parked_events where group_id = $1', ['toy'])).rowCount).toBe(0);
  });
});
