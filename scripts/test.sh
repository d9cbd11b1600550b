#!/usr/bin/env bash
# The one test command (README, CI): installs what it needs, starts the local
# stack, then typecheck, lint, unit and integration tests, then the end-to-end
# suites (alone: the fault suite restarts shared servers). Safe to run
# repeatedly against the same stack: every test uses unique names and drops
# its DynamoDB tables afterwards.
#
# `npm test` starts this script on whatever Node runs npm (the machine's,
# possibly an older one): the runtime is switched first, so the npm install,
# tsc, eslint, vitest and every process the tests spawn run on Node 24 (or
# the machine's Node 22/24; scripts/node-runtime.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=node-runtime.sh
source scripts/node-runtime.sh
use_node
echo "== runtime: Node $(node --version) ($(command -v node))"

# What the stack and the tests need installed (npm dependencies, Java, the servers' jars): first,
# so that the Node 22 unit run below finds node_modules.
bash scripts/stack.sh install
# The other supported LTS: the unit suite on Node 22 too (bootstrapped the same way; ≈ 40 s). It needs
# no server, so it runs while the stack starts (mostly waiting on ports); its output follows the lint's.
node22_log="$(mktemp)"
# shellcheck disable=SC2016
bash scripts/with-node.sh --major 22 bash -c 'echo "== unit tests (Node $(node --version))" && npx vitest run --project unit' >"$node22_log" 2>&1 &
node22=$!
bash scripts/stack.sh up
echo "== typecheck (Node $(node --version))"; npx tsc -p tsconfig.json --noEmit
echo "== lint (Node $(node --version))"; npx eslint . --max-warnings=0
node22_status=0
wait "$node22" || node22_status=$?
cat "$node22_log"
rm -f "$node22_log"
if [[ $node22_status -ne 0 ]]; then echo "== unit tests on Node 22 failed (exit $node22_status)"; exit "$node22_status"; fi
echo "== unit and integration tests (Node $(node --version))"
npx vitest run --project unit --project int "$@"
# The end-to-end files two at a time; then the fault suite's short schedule alone (it restarts shared servers).
echo "== end-to-end tests (Node $(node --version))"
npx vitest run --project e2e "$@"
echo "== fault suite, short schedule (Node $(node --version))"
npx vitest run --project faults "$@"
