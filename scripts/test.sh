#!/usr/bin/env bash
# The one test command (README, CI): installs what it needs, starts the local
# stack, then typecheck, lint, unit, integration and end-to-end tests against
# the real servers. Safe to run repeatedly: tests use unique names.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

bash scripts/stack.sh up
echo "== typecheck"; npx tsc -p tsconfig.json --noEmit
echo "== lint"; npx eslint . --max-warnings=0
echo "== tests (unit, integration, e2e)"
npx vitest run "$@"
