import { DashboardBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { datasourceVariable, stat, timeseries } from './panels.js';

const R = '$__rate_interval';
const latency = (q: number) =>
  `histogram_quantile(${q}, sum by (route, le) (rate(http_request_duration_seconds_bucket[${R}])))`;

/** The read API: requests per second, latency percentiles, status codes. */
export const api = () =>
  new DashboardBuilder('Pipeline / API')
    .uid('pipeline-api')
    .tags(['pipeline', 'api'])
    .refresh('10s')
    .time({ from: 'now-1h', to: 'now' })
    .withVariable(datasourceVariable())
    .withRow(new RowBuilder('Summary'))
    .withPanel(stat('Requests / s', 'reqps', { expr: `sum(rate(http_requests_total[${R}])) or vector(0)` }, 1e9, 1e9))
    .withPanel(
      stat('5xx share', 'percentunit', { expr: `sum(rate(http_requests_total{status=~"5.."}[${R}])) / sum(rate(http_requests_total[${R}]))` }, 0.01, 0.05),
    )
    .withPanel(
      stat('p99 latency', 's', { expr: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[${R}])))` }, 0.25, 1),
    )
    .withRow(new RowBuilder('Traffic'))
    .withPanel(timeseries('Requests per route', 'reqps', [{ expr: `sum by (route) (rate(http_requests_total[${R}]))`, legend: '{{route}}' }]))
    .withPanel(timeseries('Responses by status', 'reqps', [{ expr: `sum by (status) (rate(http_requests_total[${R}]))`, legend: '{{status}}' }]))
    .withPanel(
      timeseries('Requests per route and method', 'reqps', [
        { expr: `sum by (route, method) (rate(http_requests_total[${R}]))`, legend: '{{method}} {{route}}' },
      ]),
    )
    .withPanel(
      timeseries('Latency p50 / p90 / p99 per route', 's', [
        { expr: latency(0.5), legend: 'p50 {{route}}' },
        { expr: latency(0.9), legend: 'p90 {{route}}' },
        { expr: latency(0.99), legend: 'p99 {{route}}' },
      ]),
    );
