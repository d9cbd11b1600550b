/** The fixed "now" of API tests: every freshness number is relative to it. */
export const NOW = Date.parse('2026-01-15T12:00:00.000Z');

/** A lag snapshot in the monitor's shape with one group and one partition. */
export function lagSnapshot(group: string, partition: { lag: number; lagSeconds: number | null }, polledAgoMs = 0) {
  return {
    clusterName: 'test',
    polledAt: new Date(NOW - polledAgoMs).toISOString(),
    pollDurationMs: 5,
    groups: [
      {
        group,
        state: 'Stable',
        members: 1,
        isSimpleConsumer: false,
        maxLag: partition.lag,
        maxLagSeconds: partition.lagSeconds ?? 0,
        sumLag: partition.lag,
        offsetSource: 'postgres' as const,
        status: { status: 'OK', burrowStatus: 'OK', reason: 'OK', detail: '', complete: 1 },
        kafkaStatus: null,
        topics: [
          {
            topic: 'inventory.events',
            sumLag: partition.lag,
            partitions: [
              {
                partition: 0,
                logStartOffset: 0,
                logEndOffset: 100 + partition.lag,
                offset: 100,
                committedOffset: 100,
                lag: partition.lag,
                lagSeconds: partition.lagSeconds,
                lagSecondsMethod: 'exact',
                status: 'OK',
                reason: 'OK',
                stored: null,
                kafka: null,
                blocked: null,
              },
            ],
          },
        ],
      },
    ],
    topics: [],
    views: [],
    errors: [],
  };
}
