#!/usr/bin/env bash
# Start the Apicurio Registry built by build.sh as a foreground Java process.
#
#   run.sh <outdir> <datadir> [extra java args...]
#
#   <outdir>   directory given to build.sh (holds apicurio-registry-runner.jar + lib/)
#   <datadir>  H2 database directory (created if missing; data lives in
#              <datadir>/registry.mv.db and survives restarts)
#
# Env: APICURIO_HOST (default 127.0.0.1), APICURIO_PORT (default 8081).
# Extra java args are appended last, so they can override anything below
# (e.g. -Dquarkus.log.level=WARN).
#
# Confluent-compatible API: http://$APICURIO_HOST:$APICURIO_PORT/apis/ccompat/v7
# Readiness:                http://$APICURIO_HOST:$APICURIO_PORT/health/ready
# Native API / UI:          /apis/registry/v2, /ui
#
# With `--print` as the first argument the java command line is printed
# (shell-quoted) instead of executed.
#
# Apicurio's global compatibility default is NONE (Confluent's is BACKWARD). Once
# the registry is ready, set it (stored in the H2 file, so once per data dir is enough):
#   curl -X PUT -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
#        --data '{"compatibility":"BACKWARD"}' http://127.0.0.1:8081/apis/ccompat/v7/config
# after which e.g. adding a field without default to an Avro record gets HTTP 409.
#
# ccompat quirks seen with 2.4.2 (vs Confluent):
#  - GET /config/{subject} for an existing subject without its own level returns
#    200 {"compatibilityLevel":"NONE"} (Confluent: 404). @kafkajs/confluent-schema-registry
#    register() then throws "Compatibility does not match the configuration
#    (BACKWARD != NONE)" for subjects it did not create itself; subjects it creates
#    get a subject-level BACKWARD via its own PUT /config/{subject}.
#  - Error bodies: 409 has "error_code":0; compatibility checks return "reason":null.
#  - use-canonical-hash stays OFF: with it on, Apicurio stores and serves the
#    schema with JSON keys sorted *including the order of record fields*, which
#    changes the Avro binary layout — a Java or librdkafka consumer decoding with
#    the writer schema from the registry would misread every record. Without it,
#    re-registering the same schema with other whitespace makes a new version;
#    the pipeline always registers one serialisation and checks before it
#    registers (src/events/schema-sync.ts).
#  - /mode is not implemented (404 "Operation not supported.").
set -euo pipefail

print=0
if [[ "${1:-}" == "--print" ]]; then print=1; shift; fi
if [[ $# -lt 2 ]]; then
  echo "usage: $0 [--print] <outdir> <datadir> [extra java args...]" >&2
  exit 2
fi
out="$(cd "$1" && pwd)"
mkdir -p "$2"
data="$(cd "$2" && pwd)"
shift 2

jar="$out/apicurio-registry-runner.jar"
[[ -f "$jar" ]] || { echo "apicurio: $jar missing; run build.sh $out first" >&2; exit 1; }

args=(
  java
  # Measured: ~140 MB RSS after start, ~170 MB after a few hundred registrations.
  # SerialGC + C1-only keep RSS/startup low for a local dev registry.
  -Xms32m -Xmx256m -XX:MaxMetaspaceSize=192m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
  -Djava.net.preferIPv4Stack=true
  # HTTP binding (the app's %prod default is 0.0.0.0:8080).
  -Dquarkus.http.host="${APICURIO_HOST:-127.0.0.1}"
  -Dquarkus.http.port="${APICURIO_PORT:-8081}"
  # SQL storage on an H2 *file* instead of the default jdbc:h2:mem:registry_db.
  # The schema is created/upgraded on start (registry.sql.init=true in %prod).
  -Dquarkus.datasource.jdbc.url="jdbc:h2:file:$data/registry"
  # %prod opens 20 pooled connections eagerly; one embedded H2 needs few.
  -Dquarkus.datasource.jdbc.initial-size=1
  -Dquarkus.datasource.jdbc.min-size=1
  -Dquarkus.datasource.jdbc.max-size=20
  # --- Confluent-compatibility knobs (all from Apicurio 2.4.2 CCompatConfig/RulesProperties)
  # NOT set on purpose: -Dregistry.rules.global.compatibility=BACKWARD. It does
  # enforce BACKWARD by default, but GET /config still reports NONE and
  # PUT /config {"compatibility":"NONE"} can then never switch it off (NONE just
  # deletes the stored rule and the default applies again). Instead set the global
  # level once over the API; it is stored in the H2 file (see header).
  # Ids: false (default) = ids are *content* ids: the same schema registered under
  # two subjects gets the same id, as in Confluent. true = ids are per-version
  # global ids (what Apicurio's own serdes call "legacy").
  -Dregistry.ccompat.legacy-id-mode.enabled=false
  # Re-registering a schema that differs only in formatting returns the existing
  # id/version instead of creating a new version (Confluent normalises too).
  -Dregistry.ccompat.use-canonical-hash=false
  # GET /subjects is capped at this many subjects (default 1000).
  -Dregistry.ccompat.max-subjects=10000
  # Only gates deletes on the native /apis/registry/v2 API (ccompat DELETE
  # /subjects/... works either way); enabled so both APIs behave alike.
  -Dregistry.rest.artifact.deletion.enabled=true
  # Quieter logs; no Sentry/metrics noise.
  '-Dquarkus.log.category."io.sentry".level=ERROR'
  -Dquarkus.banner.enabled=false
  "$@"
  -jar "$jar"
)
if [[ $print -eq 1 ]]; then
  printf '%q ' "${args[@]}"; echo
  exit 0
fi
cd "$out"
exec "${args[@]}"
