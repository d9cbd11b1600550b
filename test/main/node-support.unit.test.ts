import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SUPPORTED_NODE, unsupportedNodeReason } from '../../src/main/node-support.js';

describe('the Node versions the CLI runs on', () => {
  it('runs on Node 24 and on Node 22 from 22.12, and lets a later major through', () => {
    for (const v of ['v24.0.0', 'v24.22.3', 'v22.12.0', 'v22.23.5', 'v26.12.1']) expect(unsupportedNodeReason(v)).toBeUndefined();
  });

  it('refuses Node 20 (end of life) and Node 22 before 22.12, saying how to get Node 24', () => {
    expect(unsupportedNodeReason('v20.20.2')).toMatch(/needs Node 24 .*not v20\.20\.2 \(Node 20 reached end of life on 2026-04-30\).*scripts\/with-node\.sh/);
    expect(unsupportedNodeReason('v22.11.0')).toMatch(/not v22\.11\.0\. /);
    expect(unsupportedNodeReason('v18.20.0')).toMatch(/end of life/);
  });

  it('states the same range as package.json engines', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).toBe(SUPPORTED_NODE);
  });
});
