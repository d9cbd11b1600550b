import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dashboards, render } from './src/index.js';

/**
 * Generates dashboards/generated/*.json from the typed sources in
 * dashboards/src. `--check` writes nothing and fails when a generated file is
 * out of date (CI), so the committed JSON always matches the code.
 */
const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'generated');
const check = process.argv.includes('--check');
await mkdir(outDir, { recursive: true });
let stale = 0;
for (const d of dashboards) {
  const file = path.join(outDir, d.file);
  const json = render(d.build());
  if (check) {
    const onDisk = await readFile(file, 'utf8').catch(() => '');
    if (onDisk !== json) {
      stale++;
      process.stderr.write(`out of date: ${path.relative(process.cwd(), file)}\n`);
    }
  } else {
    await writeFile(file, json);
    process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
  }
}
if (stale > 0) {
  process.stderr.write('run: npx tsx dashboards/build.ts\n');
  process.exitCode = 1;
}
