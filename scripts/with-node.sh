#!/usr/bin/env bash
# Runs a command on the project's Node (scripts/node-runtime.sh): the
# machine's Node if it is 22 or 24, else the pinned Node 24 from the state
# folder (fetched once). `--major 22` asks for exactly that major (CI runs the
# unit suite on Node 22 this way).
#
#   bash scripts/with-node.sh [--major N] <command> [args...]
#   bash scripts/with-node.sh node --version
set -euo pipefail
# shellcheck source=node-runtime.sh
source "$(dirname "${BASH_SOURCE[0]}")/node-runtime.sh"
major=""
if [[ ${1:-} == --major ]]; then major="${2:?--major needs a version}"; shift 2; fi
(($# > 0)) || { echo "usage: $0 [--major N] <command> [args...]" >&2; exit 2; }
use_node "$major"
exec "$@"
