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
  return new DynamoDBStreamsClient(clientConfig(s));
}
