import type { PoolClient } from '../db/db.js';

/**
 * The `parked_events` table, the one module that touches it for the ordered
 * handlers (a rebuild hands a group's rows over in rebuild-store.ts). Events
 * wait here per (group, persistence id) — behind a gap the journal cannot
 * fill yet, behind a rejected event, or until their aggregate's creation is
 * seen — with where they came from in Kafka, so that one that waited too long
 * can still be dead-lettered with its source position. Every function runs
 * on the caller's transaction.
 */

/** A partition of the source topic: the unit of a batch (and of a watermark). */
export interface Partition {
  topic: string;
  partition: number;
}

/** Kafka position of an event, kept with a parked event so that it can be dead-lettered later. */
export interface Origin {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  headers: Record<string, string>;
}

/** Why an event waits: a gap before it, no creation seen for its id, or a rejected event before it. */
export type ParkReason = 'GAP' | 'NOT_CREATED' | 'HELD';

export interface ParkedRow<E> {
  persistenceId: string;
  sequenceNr: number;
  event: E;
  sourceWrittenAt: number | undefined;
  origin: Origin | undefined;
}

export async function loadParked<E>(tx: PoolClient, groupId: string, pids: string[]): Promise<ParkedRow<E>[]> {
  const { rows } = await tx.query<{
    persistence_id: string; sequence_nr: number; event: E; source_written_at: Date | null; origin: Origin | null;
  }>(
    `select persistence_id, sequence_nr, event, source_written_at, origin from parked_events
     where group_id = $1 and persistence_id = any($2)`,
    [groupId, pids],
  );
  return rows.map((r) => ({
    persistenceId: r.persistence_id,
    sequenceNr: r.sequence_nr,
    event: r.event,
    sourceWrittenAt: r.source_written_at?.getTime(),
    origin: r.origin ?? undefined,
  }));
}

/** Parks events; one already parked (same id and sequence number) stays as it is. */
export async function park<E extends { type: string }>(tx: PoolClient, groupId: string, items: (ParkedRow<E> & { reason: ParkReason })[]) {
  if (items.length === 0) return;
  await tx.query(
    `insert into parked_events(group_id, persistence_id, sequence_nr, event_type, event, source_written_at, origin, reason)
     select $1, p, s, t, e, to_timestamp(w / 1000.0), o, r
     from unnest($2::text[], $3::bigint[], $4::text[], $5::jsonb[], $6::double precision[], $7::jsonb[], $8::text[])
       as x(p, s, t, e, w, o, r)
     on conflict do nothing`,
    [
      groupId,
      items.map((c) => c.persistenceId),
      items.map((c) => c.sequenceNr),
      items.map((c) => c.event.type),
      items.map((c) => JSON.stringify(c.event)),
      items.map((c) => c.sourceWrittenAt ?? null),
      items.map((c) => (c.origin ? JSON.stringify(c.origin) : null)),
      items.map((c) => c.reason),
    ],
  );
}

export async function unpark(tx: PoolClient, groupId: string, items: { persistenceId: string; sequenceNr: number }[]) {
  if (items.length === 0) return;
  await tx.query(
    `delete from parked_events where group_id = $1 and (persistence_id, sequence_nr) in
       (select * from unnest($2::text[], $3::bigint[]))`,
    [groupId, items.map((c) => c.persistenceId), items.map((c) => c.sequenceNr)],
  );
}

/** The distinct partitions of `parts`, in (topic, partition) order: the order their locks are taken in. */
export function distinctPartitions(parts: Iterable<Partition>): Partition[] {
  const byKey = new Map<string, Partition>();
  for (const p of parts) byKey.set(`${p.partition}/${p.topic}`, { topic: p.topic, partition: p.partition });
  return [...byKey.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

/**
 * Whether the group has parked events at all (so a batch can skip loading
 * them), and — when `notCreated` is given — the ids that have waited longer
 * than its `waitMs` with no row in its `stateTable` (their creation was never
 * seen), with the partition they were parked from; only those parked from
 * `parts` when it is given.
 */
export async function parkedSummary(
  tx: PoolClient, groupId: string, notCreated?: { stateTable: string; waitMs: number }, parts?: readonly Partition[], limit = 100,
): Promise<{ any: boolean; expired: { persistenceId: string; part: Partition }[] }> {
  if (!notCreated) {
    const { rows } = await tx.query<{ any: boolean }>('select exists (select 1 from parked_events where group_id = $1) as any', [groupId]);
    return { any: rows[0]!.any, expired: [] };
  }
  const { rows } = await tx.query<{ any: boolean; expired: { pid: string; topic: string | null; partition: number | null }[] | null }>(
    `select exists (select 1 from parked_events where group_id = $1) as any,
       (select json_agg(json_build_object('pid', pid, 'topic', topic, 'partition', partition) order by pid) from (
          select p.persistence_id as pid, min(p.origin->>'topic') as topic, min((p.origin->>'partition')::int) as partition
          from parked_events p
          where p.group_id = $1 and not exists (select 1 from ${notCreated.stateTable} s where s.persistence_id = p.persistence_id)
            and ($4::text[] is null or (p.origin->>'topic', (p.origin->>'partition')::int) in (select * from unnest($4::text[], $5::int[])))
          group by p.persistence_id
          having min(p.parked_at) < now() - make_interval(secs => $2::double precision / 1000)
          order by 1 limit $3) e) as expired`,
    [groupId, notCreated.waitMs, limit, parts ? parts.map((p) => p.topic) : null, parts ? parts.map((p) => p.partition) : null],
  );
  return {
    any: rows[0]!.any,
    expired: (rows[0]!.expired ?? []).map((x) => ({ persistenceId: x.pid, part: { topic: x.topic ?? '', partition: x.partition ?? -1 } })),
  };
}

/** Ids of the group with parked events and the partition they came from (rows without an origin: `defaultTopic`, partition -1). */
export async function parkedIds(tx: PoolClient, groupId: string, defaultTopic: string, limit = 500): Promise<{ persistenceId: string; part: Partition }[]> {
  const { rows } = await tx.query<{ persistence_id: string; topic: string | null; partition: number | null }>(
    `select persistence_id, min(origin->>'topic') as topic, min((origin->>'partition')::int) as partition
     from parked_events where group_id = $1 group by persistence_id order by 1 limit $2`,
    [groupId, limit],
  );
  return rows.map((r) => ({ persistenceId: r.persistence_id, part: { topic: r.topic ?? defaultTopic, partition: r.partition ?? -1 } }));
}
