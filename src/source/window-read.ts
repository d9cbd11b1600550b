import { DescribeTableCommand, QueryCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Logger } from '../shared/logger.js';
import { bucketsOf, type WriteTimeIndex } from '../shared/write-time-index.js';
import type { Item } from './attributes.js';
import type { ConnectorConfig } from './connector.js';

/**
 * Reads the journal items of a write-time window, handing them on in pages.
 * Two ways, chosen per table:
 *  - `index`: the table's write-time index (src/shared/write-time-index.ts),
 *    one Query per bucket and slice: reads what the window holds (plus the
 *    index's own page rounding), whatever the table's size;
 *  - `scan`: a parallel Scan of the whole table with the window applied to
 *    each item on the client: reads everything, passes on only the window.
 *    A FilterExpression would not read less (DynamoDB bills what it
 *    evaluates), and it cannot read ISO-8601 and epoch timestamps alike.
 *
 * A persistence id's items come in sequence order within a scan segment (a
 * scan returns an item collection by sort key). The index returns them by
 * write time, which may run out of sequence order by up to the skew
 * allowance: each slice (an id lives in one) holds back what lies within the
 * skew allowance of its read position, so every page it hands on holds all
 * of an id's items that could come before the latest one in it, and the
 * caller sorts a page by (id, sequence number).
 */
export type WindowReadMethod = 'index' | 'scan';

export interface WindowItem {
  item: Item;
  /** Write time (undefined: the layout has none; such an item is always in the window). */
  writtenAt: number | undefined;
}

export interface WindowReadOptions {
  ddb: DynamoDBClient;
  connector: Pick<ConnectorConfig, 'table' | 'gapRepair'>;
  from: number;
  to: number;
  writtenAtOf: (item: Item) => number | undefined;
  /** Items are passed on in sequence order per id; a page is awaited before the next of its slice or segment is read. */
  onPage: (items: WindowItem[]) => Promise<void>;
  onRead: (items: number) => void;
  logger: Logger;
  signal?: AbortSignal;
}

/** The index the connector names, if the table has it (ACTIVE, with that partition key): else the repair scans. */
export async function usableIndex(ddb: DynamoDBClient, connector: Pick<ConnectorConfig, 'table' | 'gapRepair'>): Promise<(WriteTimeIndex & { since?: string | undefined }) | undefined> {
  const index = connector.gapRepair.index;
  if (!index) return undefined;
  const d = await ddb.send(new DescribeTableCommand({ TableName: connector.table }));
  const gsi = d.Table?.GlobalSecondaryIndexes?.find((g) => g.IndexName === index.name);
  const hash = gsi?.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
  if (!gsi || hash !== index.bucketAttribute || (gsi.IndexStatus !== undefined && gsi.IndexStatus !== 'ACTIVE')) return undefined;
  return index;
}

export async function readWindowByIndex(o: WindowReadOptions & { index: WriteTimeIndex; writtenAtAttribute: string }): Promise<void> {
  const { ddb, connector, index, from, to, skew } = { ...o, skew: o.connector.gapRepair.skewAllowanceMs };
  const buckets = bucketsOf(index, from, to);
  await Promise.all(
    Array.from({ length: index.slices }, async (_, slice) => {
      let held: WindowItem[] = [];
      // Hands on what lies more than the skew behind `position`: nothing later in this slice can come before it.
      const release = async (position: number) => {
        const ready = held.filter((w) => (w.writtenAt ?? 0) < position - skew);
        if (ready.length === 0) return;
        held = held.filter((w) => (w.writtenAt ?? 0) >= position - skew);
        await o.onPage(ready);
      };
      for (const bucket of buckets) {
        let start: Record<string, AttributeValue> | undefined;
        do {
          if (o.signal?.aborted) throw new Error('window read aborted');
          const page = await ddb.send(
            new QueryCommand({
              TableName: connector.table,
              IndexName: index.name,
              KeyConditionExpression: '#b = :b AND #w BETWEEN :from AND :to',
              ExpressionAttributeNames: { '#b': index.bucketAttribute, '#w': o.writtenAtAttribute },
              ExpressionAttributeValues: { ':b': { S: bucket[slice]! }, ':from': { N: String(from) }, ':to': { N: String(to) } },
              ExclusiveStartKey: start,
            }),
          );
          const items = (page.Items ?? []) as Item[];
          o.onRead(items.length);
          for (const item of items) held.push({ item, writtenAt: o.writtenAtOf(item) });
          const last = held.at(-1)?.writtenAt;
          if (last !== undefined) await release(last);
          start = page.LastEvaluatedKey;
        } while (start);
      }
      await release(Number.POSITIVE_INFINITY);
    }),
  );
}

export async function readWindowByScan(o: WindowReadOptions): Promise<void> {
  const { ddb, connector, from, to } = o;
  const segments = connector.gapRepair.segments;
  await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      let start: Record<string, AttributeValue> | undefined;
      do {
        if (o.signal?.aborted) throw new Error('window read aborted');
        const page = await ddb.send(
          new ScanCommand({ TableName: connector.table, Segment: segment, TotalSegments: segments, Limit: connector.gapRepair.pageSize, ConsistentRead: true, ExclusiveStartKey: start }),
        );
        const items = (page.Items ?? []) as Item[];
        o.onRead(items.length);
        const inWindow = items.flatMap((item) => {
          const writtenAt = o.writtenAtOf(item);
          return writtenAt === undefined || (writtenAt >= from && writtenAt <= to) ? [{ item, writtenAt }] : [];
        });
        if (inWindow.length > 0) await o.onPage(inWindow);
        start = page.LastEvaluatedKey;
      } while (start);
    }),
  );
}
