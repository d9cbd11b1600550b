import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultSchemasDir, loadCatalog } from '../src/events/catalog.js';
import type { SchemaStore } from '../src/events/schema-store.js';
import { createEventSerde } from '../src/events/serde.js';
import { inventoryUpcasters } from '../src/events/upcasters/index.js';
import { loadConnector } from '../src/source/connector.js';
import { createRecordMapper } from '../src/source/mapping.js';

/** The consumer guide (docs/consumers/) stays the truth: its example is the tested file, its header table the mapper's headers. */
const examples = readFileSync('docs/consumers/examples.md', 'utf8');
const topics = readFileSync('docs/consumers/topics.md', 'utf8');

describe('consumer guide (docs/consumers)', () => {
  it('quotes python/stock_consumer.py (the file the int test runs): every line of its Python block, in order', () => {
    const block = /```python\n([\s\S]*?)```/.exec(examples)?.[1];
    expect(block).toBeDefined();
    const file = readFileSync('python/stock_consumer.py', 'utf8').split('\n');
    let at = 0;
    for (const line of block!.split('\n').filter((l) => l.trim() !== '' && l.trim() !== '# ...')) {
      const found = file.indexOf(line, at);
      expect(found, `docs/consumers/examples.md line not in python/stock_consumer.py (after line ${at}): ${line}`).toBeGreaterThanOrEqual(0);
      at = found + 1;
    }
  });

  it('names every header the bridge puts on a record', async () => {
    const catalog = loadCatalog(defaultSchemasDir());
    const store: SchemaStore = {
      idOf: async () => 1,
      schemaById: async () => catalog.latest('StockShipped').type,
      register: async () => 1,
      setCompatibility: async () => undefined,
      isCompatible: async () => ({ compatible: true, messages: [] }),
      subjects: async () => [],
      versions: async () => [],
      schemaOf: async () => ({ id: 1, schema: '' }),
    };
    const connector = loadConnector(path.resolve('connectors/journal.json'));
    const serde = createEventSerde({ topic: connector.topic, catalog, store, upcasters: inventoryUpcasters });
    const mapper = createRecordMapper({ connector, serde, catalog });
    const metadata = { eventId: 'e', persistenceId: 'inventory-X', sequenceNr: 1, occurredAt: 1, correlationId: 'c', causationId: 'k' };
    const payload = catalog.get('StockShipped', 1).type.toBuffer({ metadata, quantityCases: 1, unitsPerCase: 2, orderId: 'O' });
    const r = await mapper.map(
      {
        pkey: { S: 'inventory-X' },
        sequence_nr: { N: '1' },
        event_type: { S: 'StockShipped' },
        schema_version: { N: '1' },
        payload: { B: payload },
        written_at: { N: '1' },
        correlation_id: { S: 'c' },
        causation_id: { S: 'k' },
      },
      { table: 'journal', shardId: 's', sequenceNumber: '1', eventName: 'INSERT' },
    );
    expect(r.kind).toBe('relay');
    if (r.kind !== 'relay') return;
    // The header table itself: the rows of the first table under "## Headers".
    const from = topics.indexOf('## Headers');
    expect(from).toBeGreaterThanOrEqual(0);
    const rows = topics.slice(from).split('\n').filter((l) => l.startsWith('|'));
    const table = rows.join('\n');
    for (const h of Object.keys(r.message.headers)) expect(table, `header ${h}`).toContain(`\`${h}\``);
  });
});
