import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';

export interface DynamoSettings {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Bound on one HTTP request (DYNAMODB_REQUEST_TIMEOUT_MS); default 10 s. */
  requestTimeoutMs?: number;
}

/** Connecting is a small part of a request: a refused or black-holed connect fails sooner. */
const MAX_CONNECT_TIMEOUT_MS = 3_000;

function clientConfig(s: DynamoSettings) {
  const requestTimeout = s.requestTimeoutMs ?? 10_000;
  return {
    region: s.region,
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
    // The SDK's standard retry mode: jittered backoff, retry quota, throttling-aware.
    maxAttempts: 6,
    retryMode: 'standard' as const,
    // Without these the SDK waits for an answer forever (a frozen endpoint, a silent network).
    // requestTimeout only warns unless throwOnRequestTimeout: the request is then destroyed
    // with a TimeoutError (ETIMEDOUT), which the SDK's retry and isRetriable treat as transient.
    requestHandler: {
      connectionTimeout: Math.min(MAX_CONNECT_TIMEOUT_MS, requestTimeout),
      requestTimeout,
      throwOnRequestTimeout: true,
    },
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
