/**
 * The end-to-end canary: the bridge role appends a `PipelineHeartbeat` event
 * to the journal on this reserved persistence id every CANARY_INTERVAL_MS. It
 * travels the same path as every event (DynamoDB Streams, the bridge's
 * transaction, the topic, each consumer group's PostgreSQL transaction); the
 * consumer runner records its journal time per view instead of handing it to
 * the business handlers. The age of the newest heartbeat a view has applied
 * bounds how stale that view can be, whichever stage stopped.
 */
export const CANARY_PERSISTENCE_ID = '__pipeline-canary__';
export const CANARY_EVENT_TYPE = 'PipelineHeartbeat';

export const isCanaryKey = (key: string | null | undefined): boolean => key === CANARY_PERSISTENCE_ID;
