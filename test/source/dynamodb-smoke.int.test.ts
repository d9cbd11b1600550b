import { journalTableInput } from '../../src/command/journal.js';
import { CreateTableCommand, DeleteTableCommand, PutItemCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { afterAll, describe, expect, it } from 'vitest';
import { dynamo, dynamoStreams, eventually, uniqueName } from '../helpers/stack.js';

describe('DynamoDB Local with Streams (real server)', () => {
  const ddb = dynamo();
  const streams = dynamoStreams();
  const table = uniqueName('smoke');
  afterAll(async () => {
    await ddb.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
    ddb.destroy();
    streams.destroy();
  });

  it('delivers a NEW_IMAGE stream record for a put item', async () => {
    const created = await ddb.send(new CreateTableCommand(journalTableInput(table, { stream: true, writeTimeIndex: false })));
    await waitUntilTableExists({ client: ddb, maxWaitTime: 30 }, { TableName: table });
    const streamArn = created.TableDescription?.LatestStreamArn;
    expect(streamArn).toBeTruthy();

    await ddb.send(
      new PutItemCommand({
        TableName: table,
        Item: { pkey: { S: 'inventory-1' }, sequence_nr: { N: '1' }, event_type: { S: 'Smoke' } },
        ConditionExpression: 'attribute_not_exists(pkey)',
      }),
    );

    const desc = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    const shardId = desc.StreamDescription?.Shards?.[0]?.ShardId;
    expect(shardId).toBeTruthy();
    const it0 = await streams.send(
      new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    let iterator = it0.ShardIterator;
    const record = await eventually(async () => {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      iterator = page.NextShardIterator;
      return page.Records?.[0];
    });
    expect(record.eventName).toBe('INSERT');
    expect(record.dynamodb?.NewImage?.pkey?.S).toBe('inventory-1');
    expect(record.dynamodb?.NewImage?.sequence_nr?.N).toBe('1');
    expect(record.dynamodb?.StreamViewType).toBe('NEW_IMAGE');
  });
});
