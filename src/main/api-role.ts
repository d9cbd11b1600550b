import type { Registry } from 'prom-client';
import type { LagMonitor } from '../monitor/lag-monitor.js';
import { PipelineError } from '../shared/errors.js';
import type { Clients } from './clients.js';

export async function startApiRole(_o: { clients: Clients; registry: Registry; lag: LagMonitor | undefined }): Promise<{ port: number; close(): Promise<void> }> {
  throw new PipelineError('ROLE_UNAVAILABLE', 'the api role is not wired yet');
}
