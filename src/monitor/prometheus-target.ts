import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Announces a /metrics endpoint to Prometheus through file-based service
 * discovery: one JSON file per process in the folder the stack's Prometheus
 * watches. The file is written atomically (temp + rename) so Prometheus never
 * reads half of it. Returns a function that withdraws the target.
 */
export async function announceScrapeTarget(
  dir: string,
  name: string,
  target: string,
  labels: Record<string, string> = {},
): Promise<() => Promise<void>> {
  if (!dir) return async () => undefined;
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name.replace(/[^a-zA-Z0-9_.-]/g, '_')}.json`);
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify([{ targets: [target], labels }], null, 2));
  await rename(tmp, file);
  return async () => {
    await rm(file, { force: true });
  };
}
