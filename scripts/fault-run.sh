#!/usr/bin/env bash
# The full fault run: the fault suite at full size — ≥ 30 faults (kill -9 of
# bridge / projector / aggregators; freezes of each past its lease or session
# timeout; Kafka restarted and kill -9ed; PostgreSQL restarted three times
# under load; DynamoDB Local restarted and kill -9ed; injected duplicates and
# poison) — twice, with two different seeds; no role may exit, every role
# must stop within SHUTDOWN_TIMEOUT_MS, heal times are printed.
#
# The stack is the one scripts/stack.sh picks from the environment (STACK_DIR,
# STACK_*_PORT, STACK_KAFKA_BROKERS); the pipeline's clients are pointed at
# that same stack (`stack.sh env`), so the servers the suite restarts are the
# ones the roles use. On a 3-broker cluster (`stack.sh up --brokers 3`, or
# STACK_KAFKA_BROKERS=3) the run adds the broker faults — kill -9 of the
# event-topic leader, of the bridge's transaction coordinator and of the
# consumer group's coordinator, and a broker stopped past the session
# timeout — and "restart kafka" / "kill -9 kafka server" hit every broker at
# once; its load is longer (25,000 events) so that the faults fall under load.
#
# On 3 brokers it first runs the Kafka client's cluster conformance cases
# (test/**/*.cluster.test.ts: the vitest project `cluster`).
#
# A failing schedule is replayed with the seed it printed:
#   FAULT_SEED=<seed> bash scripts/fault-run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# The suite and the roles it spawns run on Node 24 (scripts/node-runtime.sh).
# shellcheck source=node-runtime.sh
source scripts/node-runtime.sh
use_node
echo "== runtime: Node $(node --version)"
bash scripts/stack.sh up
eval "$(bash scripts/stack.sh env)"
brokers="$(cat "${STACK_DIR:-.stack}/kafka/brokers" 2>/dev/null || echo 1)"
broker_faults="" events=15000
if [[ $brokers -ge 3 ]]; then broker_faults="leader,txn-coordinator,group-coordinator,stop" events=25000; fi
seeds="${FAULT_SEED:-$((RANDOM + 1)) $((RANDOM + 40000))}"
if [[ $brokers -ge 3 ]]; then
  # The Kafka client's conformance cases that need a cluster (coordinator failover, broker loss mid-send
  # and mid-transaction): test/**/*.cluster.test.ts. The single-broker cases run in CI (test/log/conformance/*.int.test.ts).
  echo "== Kafka client conformance on $brokers brokers at $KAFKA_BROKERS"
  npx vitest run --project cluster
fi
for seed in $seeds; do
  echo "== fault run, seed $seed, $brokers Kafka broker(s) at $KAFKA_BROKERS"
  FAULT_SEED=$seed FAULT_KILLS="${FAULT_KILLS:-18}" FAULT_LOAD_EVENTS="${FAULT_LOAD_EVENTS:-$events}" \
    FAULT_FREEZES="${FAULT_FREEZES:-bridge,projector,views}" \
    FAULT_SERVER_FAULTS="${FAULT_SERVER_FAULTS:-restart:kafka,crash:kafka,restart:postgres,restart:postgres,restart:postgres,restart:dynamodb,crash:dynamodb}" \
    FAULT_BROKER_FAULTS="${FAULT_BROKER_FAULTS-$broker_faults}" \
    npx vitest run --project faults --testTimeout 1800000
done
