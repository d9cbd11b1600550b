#!/usr/bin/env bash
# The full fault run (issue 10): the fault suite at full size — ≥ 20 faults
# (kill -9 of bridge / projector / aggregators, a Kafka, a PostgreSQL and a
# DynamoDB Local restart, injected duplicates and poison) — twice, with two
# different seeds. A failing schedule is replayed with the seed it printed:
#   FAULT_SEED=<seed> bash scripts/fault-run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
bash scripts/stack.sh up
seeds="${FAULT_SEED:-$((RANDOM + 1)) $((RANDOM + 40000))}"
for seed in $seeds; do
  echo "== fault run, seed $seed"
  FAULT_SEED=$seed FAULT_KILLS="${FAULT_KILLS:-18}" FAULT_LOAD_EVENTS="${FAULT_LOAD_EVENTS:-4000}" \
    npx vitest run --project e2e test/e2e/faults.e2e.test.ts
done
