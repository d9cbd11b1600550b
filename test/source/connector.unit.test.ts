import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JOURNAL_WRITE_TIME_INDEX } from '../../src/shared/write-time-index.js';
import { ConnectorConfigError, loadConnector, parseConnector } from '../../src/source/connector.js';

const dir = path.resolve(import.meta.dirname, '../../connectors');
const journal = loadConnector(path.join(dir, 'journal.json'));

function problemsOf(doc: unknown): string[] {
  try {
    parseConnector(doc, 'test.json');
  } catch (err) {
    if (err instanceof ConnectorConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('connector files', () => {
  it('ships three valid connectors', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
    expect(files).toEqual(['journal.json', 'seed002-events.json', 'seed004-events.json']);
    for (const f of files) expect(() => loadConnector(path.join(dir, f))).not.toThrow();
  });

  it('the reference journal relays Avro payloads exactly once with defaults filled in', () => {
    expect(journal.mapping.persistenceId).toEqual({ attributes: ['pkey'], separator: '#', stripPattern: undefined });
    expect(journal.mapping.payloadCodec).toBe('avro');
    expect(journal.delivery).toBe('exactly-once');
    expect(journal.modifyRemovePolicy).toEqual({ modify: 'ignore', remove: { ttl: 'ignore', user: 'ignore' } });
    expect(journal.gapRepair).toEqual({
      skewAllowanceMs: 120_000,
      index: { name: 'written_at-index', bucketAttribute: 'written_bucket', bucketMs: 3_600_000, slices: 4 },
      segments: 4,
      pageSize: 500,
    });
    expect(journal.dlqTopic).toBe('inventory.events.dlq.cdc-bridge');
    expect(journal.leases.table).toBe('journal-leases');
  });

  it('seed 004 and seed 002 layouts carry JSON payloads', () => {
    const s4 = loadConnector(path.join(dir, 'seed004-events.json'));
    expect(s4.mapping).toMatchObject({ persistenceId: { attributes: ['aggregate_id'] }, sequenceNr: 'version', payload: 'data', payloadCodec: 'json' });
    const s2 = loadConnector(path.join(dir, 'seed002-events.json'));
    expect(s2.mapping.persistenceId.attributes).toEqual(['pk', 'sk']);
    // seed 002 overwrites one item per entity under an optimistic lock: new versions arrive as MODIFY.
    expect(s2.modifyRemovePolicy.modify).toBe('relay');
  });

  it('names every bad field', () => {
    const doc = structuredClone(journal) as unknown as Record<string, unknown>;
    const mapping = doc.mapping as Record<string, unknown>;
    mapping.payloadCodec = 'protobuf';
    doc.delivery = 'maybe-once';
    (doc.batch as Record<string, unknown>).maxRecords = 5000;
    doc.topic = 'bad topic!';
    const problems = problemsOf(doc);
    expect(problems.some((p) => p.startsWith('mapping.payloadCodec:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('delivery:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('batch.maxRecords:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('topic:'))).toBe(true);
  });

  it('requires schemaVersion for Avro payloads and rejects unknown keys and bad patterns', () => {
    const base = { name: 'x', table: 'tbl', topic: 't', mapping: { persistenceId: 'p', sequenceNr: 's', eventType: 'e', payload: 'b', payloadCodec: 'avro' } };
    expect(problemsOf(base)).toEqual(['mapping.schemaVersion: required when payloadCodec is avro (the bytes were written at a version)']);
    expect(problemsOf({ ...base, extra: 1 })).toContainEqual(expect.stringMatching(/^\(root\):.*extra/));
    expect(problemsOf({ ...base, mapping: { ...base.mapping, schemaVersion: 'v', persistenceId: { attributes: ['a'], stripPattern: '(' } } })).toEqual([
      'mapping.persistenceId.stripPattern: not a valid regular expression',
    ]);
    expect(problemsOf({ ...base, mapping: { ...base.mapping, schemaVersion: 'v' }, leases: { durationMs: 2000, renewIntervalMs: 1500 } })).toEqual([
      'leases.renewIntervalMs: renewIntervalMs must be at most half of durationMs (a missed renewal must not lose the lease)',
    ]);
  });

  it('gap repair: the write-time index of the journal matches what the writer stamps; an index needs a write-time attribute', () => {
    expect(journal.gapRepair.index).toMatchObject(JOURNAL_WRITE_TIME_INDEX);
    const s4 = loadConnector(path.join(dir, 'seed004-events.json'));
    expect(s4.gapRepair.index).toBeUndefined();
    const base = { name: 'x', table: 'tbl', topic: 't', mapping: { persistenceId: 'p', sequenceNr: 's', eventType: 'e', payload: 'b', payloadCodec: 'json' } };
    expect(problemsOf({ ...base, gapRepair: { index: JOURNAL_WRITE_TIME_INDEX } })).toEqual(['gapRepair.index: needs mapping.writtenAt (the index is sorted by it)']);
    expect(problemsOf({ ...base, gapRepair: { skewAllowanceMs: -1 } })[0]).toMatch(/^gapRepair.skewAllowanceMs:/);
    const withTime = { ...base, mapping: { ...base.mapping, writtenAt: 'w' } };
    expect(problemsOf({ ...withTime, gapRepair: { index: { ...JOURNAL_WRITE_TIME_INDEX, since: 'last tuesday' } } })).toEqual(['gapRepair.index.since: not an ISO-8601 instant']);
    expect(problemsOf({ ...withTime, gapRepair: { index: { ...JOURNAL_WRITE_TIME_INDEX, since: '2026-12-01T00:00:00Z' } } })).toEqual([]);
  });

  it('reports unreadable files with the path', () => {
    expect(() => loadConnector('/nonexistent/c.json')).toThrow(/\/nonexistent\/c.json/);
  });
});
