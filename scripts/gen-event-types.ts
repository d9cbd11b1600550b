import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultSchemasDir, loadCatalog } from '../src/events/catalog.js';
import { generateEventTypes } from '../src/events/type-generator.js';

const target = path.resolve('src/events/generated/inventory.ts');
writeFileSync(target, generateEventTypes(loadCatalog(defaultSchemasDir('inventory'))));
console.log(`wrote ${target}`);
