import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CheckpointReader } from '../log/checkpoints.js';
import type { ConnectorConfig } from './connector.js';
import type { RecordMapper } from './mapping.js';
import type { ShardInfo } from './shard-lineage.js';
import type { StreamReader } from './stream-reader.js';

/**
 * What a read of the table itself (the backfill, a gap repair) works against:
 * the table and its stream as they stand when the read starts, and the
 * checkpoints the shards wrote.
 */
export interface TableSource {
  ddb: DynamoDBClient;
  connector: ConnectorConfig;
  mapper: RecordMapper;
  reader: StreamReader;
  streamArn: string;
  /** The stream's shards as just described. */
  shards: readonly ShardInfo[];
  checkpoints: CheckpointReader;
}
