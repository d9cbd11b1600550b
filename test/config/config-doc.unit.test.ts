import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configMarkdown } from '../../src/config/config.js';

describe('docs/configuration.md', () => {
  it('documents every configuration variable as the schema defines it (node --import tsx scripts/config-doc.ts)', () => {
    expect(readFileSync('docs/configuration.md', 'utf8')).toContain(configMarkdown());
  });
});
