import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { api } from './api.js';
import { cdcBridge } from './cdc-bridge.js';
import { consumerLag } from './consumer-lag.js';
import { pipelineOverview } from './pipeline-overview.js';

/** Every dashboard and the file it is generated to (dashboards/generated/<file>). */
export const dashboards: { file: string; build: () => DashboardBuilder }[] = [
  { file: 'pipeline-overview.json', build: pipelineOverview },
  { file: 'consumer-lag.json', build: consumerLag },
  { file: 'cdc-bridge.json', build: cdcBridge },
  { file: 'api.json', build: api },
];

/** The dashboard JSON exactly as written to disk (stable key order, trailing newline). */
export function render(builder: DashboardBuilder): string {
  return `${JSON.stringify(builder.build(), null, 2)}\n`;
}
