import { PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventCatalog } from '../src/events/catalog.js';

/**
 * Writes `events` journal-layout items (StockReceived v2, spread over 100
 * ids) for the bridge benches. Plain PutItem, three at a time: DynamoDB Local
 * is far slower with TransactWriteItems and BatchWriteItem, which would make
 * the set-up dominate the run. Returns how many were written.
 */
export async function writeBenchJournal(o: { ddb: DynamoDBClient; catalog: EventCatalog; table: string; events: number; idPrefix: string }): Promise<number> {
  const type = o.catalog.get('StockReceived', 2).type;
  const ids = Array.from({ length: 100 }, (_, i) => `inventory-${o.idPrefix}-${i}`);
  const perId = Math.ceil(o.events / ids.length);
  const itemOf = (pid: string, n: number): Record<string, AttributeValue> => ({
    pkey: { S: pid },
    sequence_nr: { N: String(n) },
    event_type: { S: 'StockReceived' },
    schema_version: { N: '2' },
    payload: {
      B: type.toBuffer({
        metadata: { eventId: `${pid}-${n}`, persistenceId: pid, sequenceNr: n, occurredAt: Date.now(), correlationId: 'bench', causationId: null },
        quantity: n,
        lotNumber: 'LOT',
        supplierId: null,
        expiryDate: null,
      }),
    },
    written_at: { N: String(Date.now()) },
    event_id: { S: `${pid}-${n}` },
    correlation_id: { S: 'bench' },
  });
  const all = Array.from({ length: perId }, (_, i) => ids.map((pid) => itemOf(pid, i + 1))).flat();
  let next = 0;
  const put = async (Item: Record<string, AttributeValue>) => {
    // DynamoDB Local gives up on its internal lock under load ("will succeed in actual DynamoDB"): try again.
    for (let attempt = 0; ; attempt++) {
      try {
        return await o.ddb.send(new PutItemCommand({ TableName: o.table, Item }));
      } catch (err) {
        if (attempt >= 10 || (err as { name?: string }).name !== 'InternalServerError') throw err;
      }
    }
  };
  await Promise.all(
    Array.from({ length: 3 }, async () => {
      while (next < all.length) await put(all[next++]!);
    }),
  );
  return all.length;
}
