// Rewrites the configuration table in README.md from src/config/config.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { configMarkdown } from '../src/config/config.js';

const readme = readFileSync('README.md', 'utf8');
const start = '<!-- config-table:start -->';
const end = '<!-- config-table:end -->';
const i = readme.indexOf(start);
const j = readme.indexOf(end);
if (i < 0 || j < 0) throw new Error('README.md has no config-table markers');
writeFileSync('README.md', `${readme.slice(0, i + start.length)}\n${configMarkdown()}\n${readme.slice(j)}`);
console.log('README.md configuration table updated');
