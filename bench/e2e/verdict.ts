/** Whether a rate window of bench/e2e-latency.ts was sustained, and if not, what limited it. */
import type { CpuResult, StageResult } from './results.js';

/**
 * A rate is sustained when the journal accepted ≥ 95 % of it, no stage's
 * backlog grew and the pipeline drained within 5 s of the load stopping;
 * otherwise the limit names the generator or DynamoDB Local (the journal did
 * not take the offer), else the first stage whose backlog grew, with the CPU
 * of its process as evidence. Null when sustained (rate 0, flat out, always
 * names the journal side).
 */
export function limitOf(o: {
  rate: number;
  accepted: number | null;
  acceptedShare: number;
  cpu: Record<string, CpuResult>;
  machineBusyPercent: number;
  stages: { relay: StageResult; projector: StageResult; views: StageResult };
  drainSeconds: number | null;
}): string | null {
  const { rate, accepted, cpu, machineBusyPercent, stages, drainSeconds } = o;
  const growing = Object.values(stages).some((s) => s.growing);
  let limit: string | null = null;
  if (o.acceptedShare < 0.95) {
    const gen = cpu.loadGenerator?.percent ?? 0;
    const ddb = cpu.dynamodb?.percent;
    limit = gen >= 85
      ? `load generator (${gen} % of a core)`
      : `journal: DynamoDB Local accepted ${Math.round(accepted ?? 0)} of ${rate} ev/s (DynamoDB Local ${ddb ?? '?'} % CPU, generator ${gen} %, machine ${machineBusyPercent} % busy)`;
  } else if (growing) {
    const first = (['relay', 'projector', 'views'] as const).find((k) => stages[k].growing)!;
    const proc = first === 'relay' ? 'bridge' : first;
    limit = `${first === 'relay' ? 'bridge relay' : first === 'projector' ? 'projector apply' : 'views aggregation'}: backlog ${stages[first].lagStart} → ${stages[first].lagEnd} records (${proc} ${cpu[proc]?.percent ?? '?'} % CPU, machine ${machineBusyPercent} % busy)`;
  } else if (drainSeconds === null || drainSeconds > 5) {
    limit = `pipeline did not drain within 5 s of the load stopping (${drainSeconds ?? '> 120'} s)`;
  }
  if (rate === 0 && limit === null) {
    limit = `journal side: flat out the generator got ${Math.round(accepted ?? 0)} ev/s accepted (generator ${cpu.loadGenerator?.percent ?? '?'} %, DynamoDB Local ${cpu.dynamodb?.percent ?? '?'} % CPU, machine ${machineBusyPercent} % busy) and every stage kept up`;
  }
  return limit;
}
