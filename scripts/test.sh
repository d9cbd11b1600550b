#!/usr/bin/env bash
# The one test command (README, CI): installs what it needs, starts the local
# stack, then typecheck, lint, unit and integration tests, then the end-to-end
# suites (alone: the fault suite restarts shared servers). Safe to run
# repeatedly against the same stack: every test uses unique names and drops
# its DynamoDB tables afterwards.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

bash scripts/stack.sh up
echo "== typecheck"; npx tsc -p tsconfig.json --noEmit
echo "== lint"; npx eslint . --max-warnings=0
echo "== unit and integration tests"
npx vitest run --project unit --project int "$@"
echo "== end-to-end tests"
npx vitest run --project e2e "$@"
