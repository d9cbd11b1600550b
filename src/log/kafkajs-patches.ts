import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { packagePath } from '../shared/package-root.js';

/** What scripts/patch-kafkajs.mjs writes at the head of every file it patched. */
export const KAFKAJS_PATCH_MARK = 'patched by scripts/patch-kafkajs.mjs';

/** The kafkajs 2.2.4 files scripts/patch-kafkajs.mjs patches (its header says why). */
export const KAFKAJS_PATCHED_FILES = [
  'src/consumer/filterAbortedMessages.js',
  'src/protocol/encoder.js',
  'src/protocol/recordBatch/record/v0/index.js',
  'src/producer/sendMessages.js',
  'src/network/requestQueue/index.js',
  'src/consumer/consumerGroup.js',
  'src/consumer/offsetManager/index.js',
] as const;

/**
 * Why the kafkajs this process loads is not the patched one, or undefined
 * when it is. The patches fix message loss and duplicates (aborted records
 * read as committed, a send that skipped a partition whose leader moved), so
 * running without them is refused rather than warned about. They are applied
 * by the package's postinstall; an install with `--ignore-scripts`, or a
 * kafkajs replaced afterwards, misses them.
 */
export function kafkajsUnpatchedReason(): string | undefined {
  const require = createRequire(import.meta.url);
  const root = path.dirname(require.resolve('kafkajs/package.json'));
  const missing = KAFKAJS_PATCHED_FILES.filter((f) => {
    try {
      return !readFileSync(path.join(root, f), 'utf8').includes(KAFKAJS_PATCH_MARK);
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return undefined;
  return (
    `kafkajs in ${root} lacks this package's fixes (${missing.join(', ')}): it loses or duplicates records without them. ` +
    `The install ran without scripts (--ignore-scripts?); apply them with: node ${packagePath('scripts', 'patch-kafkajs.mjs')}`
  );
}
