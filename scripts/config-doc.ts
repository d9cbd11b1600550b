// Rewrites the configuration table in docs/configuration.md from src/config/config.ts
// (test/config/config-doc.unit.test.ts fails until it has been run after a change there).
import { readFileSync, writeFileSync } from 'node:fs';
import { configMarkdown } from '../src/config/config.js';

const file = 'docs/configuration.md';
const doc = readFileSync(file, 'utf8');
const start = '<!-- config-table:start -->';
const end = '<!-- config-table:end -->';
const i = doc.indexOf(start);
const j = doc.indexOf(end);
if (i < 0 || j < 0) throw new Error(`${file} has no config-table markers`);
writeFileSync(file, `${doc.slice(0, i + start.length)}\n${configMarkdown()}\n${doc.slice(j)}`);
console.log(`${file}: configuration table updated`);
