import { createRoute } from '@hono/zod-openapi';
import { ApiError } from '../errors.js';
import { lagSnapshotSchema, type LagSnapshot } from '../lag-schema.js';
import { errorResponses } from '../schemas.js';
import type { ApiApp } from './context.js';

const route = createRoute({
  method: 'get',
  path: '/lag',
  tags: ['operations'],
  summary: "Consumer lag per group / topic / partition with Burrow-style status (the lag monitor's last poll)",
  responses: {
    200: { description: 'the latest lag snapshot', content: { 'application/json': { schema: lagSnapshotSchema } } },
    ...errorResponses,
  },
});

export function registerLagRoute(app: ApiApp, lag: (() => LagSnapshot | undefined) | undefined): void {
  app.openapi(route, (c) => {
    if (!lag) {
      throw new ApiError(
        503,
        'LAG_MONITOR_NOT_RUNNING',
        'the lag monitor does not run in this process; start the API together with the monitor role, or read the lag metrics from Prometheus',
      );
    }
    const snapshot = lag();
    if (!snapshot?.polledAt) {
      throw new ApiError(503, 'LAG_NOT_POLLED_YET', 'the lag monitor has not completed its first poll yet', {
        headers: { 'retry-after': '5' },
      });
    }
    c.header('cache-control', 'no-store');
    return c.json(snapshot, 200);
  });
}
