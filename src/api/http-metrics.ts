import { Counter, Histogram, type Registry } from 'prom-client';

export interface HttpMetrics {
  observe(labels: { route: string; method: string; status: number }, seconds: number): void;
}

/**
 * http_requests_total{route,method,status} and
 * http_request_duration_seconds{route,method} on `registry`. Reuses metrics a
 * previous app already registered there, so several apps (tests) can share
 * one registry. `route` is the route pattern, never the raw path, so label
 * cardinality stays bounded.
 */
export function createHttpMetrics(registry: Registry): HttpMetrics {
  const existingCounter = registry.getSingleMetric('http_requests_total');
  const requests =
    existingCounter instanceof Counter
      ? existingCounter
      : new Counter({
          name: 'http_requests_total',
          help: 'HTTP requests answered by the API.',
          labelNames: ['route', 'method', 'status'] as const,
          registers: [registry],
        });
  const existingHistogram = registry.getSingleMetric('http_request_duration_seconds');
  const duration =
    existingHistogram instanceof Histogram
      ? existingHistogram
      : new Histogram({
          name: 'http_request_duration_seconds',
          help: 'Time to answer an HTTP request of the API.',
          labelNames: ['route', 'method'] as const,
          buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
          registers: [registry],
        });
  return {
    observe({ route, method, status }, seconds) {
      requests.inc({ route, method, status: String(status) });
      duration.observe({ route, method }, seconds);
    },
  };
}
