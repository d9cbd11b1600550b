/**
 * The Node versions this package runs on (package.json `engines`): Node 24,
 * the active LTS, and Node 22 from 22.12 (the maintenance LTS; commander 15
 * needs 22.12). Node 20 reached end of life on 2026-04-30 and is refused:
 * nothing is tested on it, and dependencies have started to require 22.
 * A later major is let through: npm already warns at install that it is
 * outside `engines`, and a new LTS usually runs what the previous one did.
 */
export const SUPPORTED_NODE = '^22.12.0 || ^24.11.0';

/** Why the CLI refuses this Node version, or undefined when it runs on it. */
export function unsupportedNodeReason(version: string): string | undefined {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  if (major > 22 || (major === 22 && minor >= 12)) return undefined;
  return (
    `ddb-cdc-pipeline needs Node 24 (or Node 22 from 22.12; engines ${SUPPORTED_NODE}), not ${version}` +
    (major <= 20 ? ' (Node 20 reached end of life on 2026-04-30)' : '') +
    '. In a checkout, `bash scripts/with-node.sh <command>` runs a command on the pinned Node 24 (docs/operating/deploy.md).'
  );
}
