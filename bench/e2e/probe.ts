/**
 * The probe of bench/e2e-latency.ts: appends a receipt to its own inventory
 * back to back (100 ms apart) and polls `GET /inventories/:id` every 10 ms
 * until the new sequence number is visible — journal write → visible through
 * the API; the GETs' own time is the API's share.
 */
import { createJournal } from '../../src/command/journal.js';
import { decide, evolve, initialState, type InventoryState } from '../../src/command/inventory.js';
import type { Config } from '../../src/config/config.js';
import { defaultSchemasDir, loadCatalog } from '../../src/events/catalog.js';
import { sleep } from '../../src/shared/retry.js';
import { createDynamo } from '../../src/source/dynamodb.js';

export interface Probe {
  /** Events the probe has appended so far. */
  appends(): number;
  /** Appends and waits for visibility until `stop()` says so (or `untilMs` passes): the latencies and the GETs' times, ms. */
  measure(stop: () => boolean, untilMs: number): Promise<{ latencies: number[]; gets: number[] }>;
}

/** Creates the probe's inventory and waits until the API serves it: the whole path works before anything is measured. */
export async function startProbe(o: { config: Config; table: string; run: string; api: string }): Promise<Probe> {
  const { config, api } = o;
  const catalog = loadCatalog(defaultSchemasDir('inventory'));
  const journal = createJournal({ ddb: createDynamo({ endpoint: config.dynamodbEndpoint, region: config.awsRegion, accessKeyId: 'x', secretAccessKey: 'x' }), table: o.table, catalog });
  const probeId = `PROBE-${o.run}`;
  let probe: InventoryState = initialState(`inventory-${probeId}`);
  let probeAppends = 0;
  const append = async (cmd: Parameters<typeof decide>[1]) => {
    const events = decide(probe, cmd);
    await journal.append({ persistenceId: probe.persistenceId, expectedSequenceNr: probe.sequenceNr, events: events.map((e) => ({ type: e.type, data: e.data as unknown as Record<string, unknown> })) });
    probe = events.reduce((s, e) => evolve(s, e), probe);
    probeAppends += events.length;
    return { seq: probe.sequenceNr, at: Date.now() };
  };
  await append({ kind: 'create', inventoryId: probeId, productId: 'P-000001', warehouseId: 'WH-TYO', zoneId: 'WH-TYO-AMBIENT', productStorageCondition: 'AMBIENT', zoneType: 'AMBIENT' });
  for (let i = 0; !(await fetch(`${api}/inventories/${probeId}`).then((r) => r.ok).catch(() => false)); i++) {
    if (i > 600) throw new Error('the probe inventory did not become visible through the API within 2 minutes');
    await sleep(200);
  }
  return {
    appends: () => probeAppends,
    async measure(stop, untilMs) {
      const latencies: number[] = [];
      const gets: number[] = [];
      while (!stop() && Date.now() < untilMs) {
        const w = await append({ kind: 'receive', quantity: 1, lotNumber: 'PROBE', supplierId: null, expiryDate: null });
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline) {
          const g0 = performance.now();
          const res = await fetch(`${api}/inventories/${probeId}`).catch(() => undefined);
          const seen = res?.ok && ((await res.json()) as { lastSequenceNr: number }).lastSequenceNr >= w.seq;
          gets.push(performance.now() - g0);
          if (seen) {
            latencies.push(Date.now() - w.at);
            break;
          }
          await sleep(10);
        }
        await sleep(100);
      }
      return { latencies, gets };
    },
  };
}
