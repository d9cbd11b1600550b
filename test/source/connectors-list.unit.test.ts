import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectorFiles, ConnectorConfigError, loadConnector, loadConnectors } from '../../src/source/connector.js';

const shipped = path.resolve(import.meta.dirname, '../../connectors');
const file = (name: string) => path.join(shipped, name);

describe('CONNECTOR_FILE with several connectors', () => {
  it('accepts a comma-separated list and a folder; a single file stays a list of one', () => {
    expect(loadConnectors(`${file('journal.json')}, ${file('seed004-events.json')}`).map((c) => c.name)).toEqual(['journal', 'seed004-events']);
    expect(loadConnectors(shipped).map((c) => c.name)).toEqual(['journal', 'seed002-events', 'seed004-events']);
    expect(loadConnectors(file('journal.json')).map((c) => c.name)).toEqual(['journal']);
    expect(connectorFiles(shipped)).toHaveLength(3);
  });

  it('loadConnector of a list or folder is its first connector (the topic the consumer roles read)', () => {
    expect(loadConnector(`${file('seed004-events.json')},${file('journal.json')}`).name).toBe('seed004-events');
    expect(loadConnector(shipped).name).toBe('journal');
  });

  it('refuses two connectors with one name or one table (they would share leases and checkpoints)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'connectors-'));
    copyFileSync(file('journal.json'), path.join(dir, 'a.json'));
    const twin = JSON.parse(readFileSync(file('journal.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(path.join(dir, 'b.json'), JSON.stringify({ ...twin, name: 'journal-2' }));
    expect(() => loadConnectors(dir)).toThrow(ConnectorConfigError);
    expect(() => loadConnectors(dir)).toThrow(/table "journal" is also the table of/);
    expect(() => loadConnectors(path.join(dir, 'missing'))).toThrow(/not readable JSON/);
  });
});
