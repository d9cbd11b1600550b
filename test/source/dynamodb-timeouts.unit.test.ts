import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand } from '@aws-sdk/client-dynamodb-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRetriable } from '../../src/shared/errors.js';
import { createDynamo, createDynamoStreams } from '../../src/source/dynamodb.js';
import { startBlackHole } from '../helpers/black-hole.js';

/**
 * DYNAMODB_REQUEST_TIMEOUT_MS: an endpoint that accepts the connection and
 * never answers (a frozen DynamoDB, a silent network) must fail the call as
 * retriable in bounded time — the SDK's request timeout only warns unless
 * told to throw, and without one the call waits forever.
 */
describe('DynamoDB clients against an endpoint that never answers', () => {
  let hole: Awaited<ReturnType<typeof startBlackHole>>;
  beforeAll(async () => {
    hole = await startBlackHole();
  });
  afterAll(async () => {
    await hole.close();
  });

  const settings = () => ({ endpoint: hole.url, region: 'us-east-1', accessKeyId: 'x', secretAccessKey: 'x', requestTimeoutMs: 500 });

  it('tables: fails as retriable after the SDK retries, each attempt bounded', async () => {
    const ddb = createDynamo(settings());
    const started = performance.now();
    const err = await ddb.send(new DescribeTableCommand({ TableName: 't' })).catch((e: unknown) => e);
    const ms = performance.now() - started;
    ddb.destroy();
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('TimeoutError');
    expect(isRetriable(err)).toBe(true);
    // 6 attempts × 500 ms plus jittered backoff; without the bound the call never ends.
    expect(ms).toBeLessThan(20_000);
  }, 30_000);

  it('streams: the same bound', async () => {
    const streams = createDynamoStreams(settings());
    const err = await streams.send(new DescribeStreamCommand({ StreamArn: 'arn:aws:dynamodb:us-east-1:0:table/t/stream/x' })).catch((e: unknown) => e);
    streams.destroy();
    expect(isRetriable(err)).toBe(true);
  }, 30_000);
});
