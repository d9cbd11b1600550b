import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';

export interface DynamoSettings {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

function clientConfig(s: DynamoSettings) {
  return {
    region: s.region,
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
    // The SDK's standard retry mode: jittered backoff, retry quota, throttling-aware.
    maxAttempts: 6,
    retryMode: 'standard' as const,
  };
}

export function createDynamo(s: DynamoSettings): DynamoDBClient {
  return new DynamoDBClient(clientConfig(s));
}

export function createDynamoStreams(s: DynamoSettings): DynamoDBStreamsClient {
  const client = new DynamoDBStreamsClient(clientConfig(s));
  // The SDK's logger middleware copies every answer through its sensitive-data
  // filter to hand it to a logger that, unconfigured, drops it: for GetRecords
  // that walk costs as much as a third of deserialising the page.
  client.middlewareStack.remove('loggerMiddleware');
  return client;
}
