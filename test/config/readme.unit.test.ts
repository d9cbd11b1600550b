import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configMarkdown } from '../../src/config/config.js';

describe('README', () => {
  it('documents every configuration variable as the schema defines it (node --import tsx scripts/readme-config.ts)', () => {
    expect(readFileSync('README.md', 'utf8')).toContain(configMarkdown());
  });

  it('gives the test command that .ci/run calls', () => {
    expect(readFileSync('README.md', 'utf8')).toMatch(/npm test/);
    expect(readFileSync('.ci/run', 'utf8')).toMatch(/^npm test$/m);
  });
});
