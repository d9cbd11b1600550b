/**
 * TEST HARNESS entry point: the shard-split harness as a process of its own
 * (bench/bridge-shards.ts runs it so that the bridge's CPU time is measured
 * without the harness's). Prints `HARNESS_ENDPOINT <url>`; SIGTERM stops it.
 *   HARNESS_INITIAL_DEPTH=3 → 8 shards take every record.
 */
import { loadConfig } from '../../../src/config/config.js';
import { createDynamoStreams } from '../../../src/source/dynamodb.js';
import { startSplitStreamsServer } from './split-streams-server.js';

const config = loadConfig();
const h = await startSplitStreamsServer({
  real: createDynamoStreams({ endpoint: config.dynamodbEndpoint, region: config.awsRegion, accessKeyId: config.awsAccessKeyId, secretAccessKey: config.awsSecretAccessKey }),
  initialDepth: Number(process.env.HARNESS_INITIAL_DEPTH ?? 0),
});
process.stdout.write(`HARNESS_ENDPOINT ${h.endpoint}\n`);
process.once('SIGTERM', () => void h.close().then(() => process.exit(0)));
