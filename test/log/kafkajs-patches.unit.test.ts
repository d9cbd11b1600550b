import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KAFKAJS_PATCH_MARK, KAFKAJS_PATCHED_FILES, kafkajsUnpatchedReason } from '../../src/log/kafkajs-patches.js';

describe('the start-up check of the kafkajs patches', () => {
  it("finds this checkout's kafkajs patched (npm install ran scripts/patch-kafkajs.mjs)", () => {
    expect(kafkajsUnpatchedReason()).toBeUndefined();
  });

  it('checks every file the postinstall script patches, by the mark it writes', () => {
    const script = readFileSync('scripts/patch-kafkajs.mjs', 'utf8');
    expect(script).toContain(`const MARK = '${KAFKAJS_PATCH_MARK}'`);
    const patched = [...script.matchAll(/^const [A-Z_]+ = '(src\/[^']+\.js)';$|patchFile\('(src\/[^']+\.js)'/gm)].map((m) => m[1] ?? m[2]);
    expect(new Set(patched)).toEqual(new Set(KAFKAJS_PATCHED_FILES));
  });
});
