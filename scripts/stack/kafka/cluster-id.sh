# shellcheck shell=bash
# A KRaft cluster id: 16 random bytes in URL-safe base64 without padding, as
# `kafka-storage random-uuid` prints. Like Kafka's own Uuid.randomUuid(), an id
# starting with '-' is drawn again: kafka-storage's argument parser reads
# `-t -xyz` as a missing value followed by an unknown flag, and `up` failed
# that way once in 64 starts ("argument --cluster-id/-t: expected one argument").
new_cluster_id() {
  local id
  while :; do
    id="$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" != -* ]] && { printf '%s\n' "$id"; return; }
  done
}
