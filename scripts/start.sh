#!/usr/bin/env bash
# The main job (README quick start): local stack, migrations, schemas, the
# reference connector, every role in one process and the business-day
# workload; prints the API URL and example calls. Ctrl-C stops it gracefully.
# Runs on Node 24 (or the machine's Node 22/24; scripts/node-runtime.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=node-runtime.sh
source scripts/node-runtime.sh
use_node
bash scripts/stack.sh up
exec node --import tsx src/main/cli.ts demo "$@"
