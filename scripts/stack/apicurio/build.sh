#!/usr/bin/env bash
# Build the Apicurio Registry 2.4.2.Final server (H2/SQL storage) from Maven Central.
#
#   build.sh <outdir>
#
# Produces <outdir>/apicurio-registry-runner.jar + <outdir>/lib/ (Quarkus legacy-jar
# layout; start it with run.sh next to this file). Idempotent: if the output exists
# and was built from the current pom.xml (hash kept in <outdir>/pom.sha256) it
# exits at once. Otherwise it builds in <outdir>/build (nothing is written into
# the source tree). Cold build: ~3 min, ~240 MB of downloads into ~/.m2.
# Needs: java 11+ (17 tested), mvn 3.8+, network access to Maven Central or to
# the mirror in ~/.m2/settings.xml (see ../maven-settings.sh).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../maven-settings.sh
source "$here/../maven-settings.sh"

if [[ $# -ne 1 ]]; then
  echo "usage: $0 <outdir>" >&2
  exit 2
fi
mkdir -p "$1"
out="$(cd "$1" && pwd)"

jar=apicurio-registry-runner.jar
want="$(sha256sum "$here/pom.xml" | cut -d' ' -f1)"
if [[ -f "$out/$jar" && -d "$out/lib" && -f "$out/pom.sha256" ]] \
   && [[ "$(cat "$out/pom.sha256")" == "$want" ]]; then
  echo "apicurio: $out/$jar is up to date"
  exit 0
fi

for tool in java mvn; do
  command -v "$tool" >/dev/null || { echo "apicurio: '$tool' not found on PATH" >&2; exit 1; }
done

build="$out/build"
rm -rf "$build" "$out/pom.sha256"
mkdir -p "$build"
cp "$here/pom.xml" "$build/pom.xml"

maven_settings_args "$out/maven"
mvn=(mvn -B -q -Dstyle.color=never ${MAVEN_SETTINGS_ARGS[@]+"${MAVEN_SETTINGS_ARGS[@]}"} -f "$build/pom.xml")
# Debian's Maven 3.8 prints stray ESC[0m colour resets even in batch mode; drop them.
run_mvn() { "${mvn[@]}" "$@" 2>&1 | sed 's/\x1b\[0m//g'; }

# --- io.apicurio:apicurio-common-app-components-config-index-deployment:0.1.18.Final
# is required by the Quarkus build but was never published to Central. Install the
# 0.1.10.Final jar (same build step, same calls) under 0.1.18.Final, with its pom
# re-versioned so that its own dependencies resolve to the 0.1.18.Final artifacts.
ga=io.apicurio:apicurio-common-app-components-config-index-deployment
if "${mvn[@]}" -o org.apache.maven.plugins:maven-dependency-plugin:3.6.1:get \
     -Dartifact="$ga:0.1.18.Final" -Dtransitive=false >/dev/null 2>&1; then
  echo "apicurio: $ga:0.1.18.Final already in the local Maven repository"
else
  echo "apicurio: installing $ga:0.1.10.Final as 0.1.18.Final into the local Maven repository"
  patch="$build/config-index-deployment"
  for type in jar pom; do
    run_mvn org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy \
      -Dartifact="$ga:0.1.10.Final:$type" -DoutputDirectory="$patch" -Dmdep.stripVersion=true
  done
  sed 's#<version>0\.1\.10\.Final</version>#<version>0.1.18.Final</version>#' \
    "$patch/apicurio-common-app-components-config-index-deployment.pom" > "$patch/pom-0.1.18.xml"
  grep -q '<version>0.1.18.Final</version>' "$patch/pom-0.1.18.xml"
  run_mvn org.apache.maven.plugins:maven-install-plugin:3.1.1:install-file \
    -Dfile="$patch/apicurio-common-app-components-config-index-deployment.jar" \
    -DpomFile="$patch/pom-0.1.18.xml"
fi

echo "apicurio: building (mvn package in $build) ..."
run_mvn package

target="$build/target"
[[ -f "$target/$jar" && -d "$target/lib" ]] || { echo "apicurio: build produced no $jar" >&2; exit 1; }
rm -rf "$out/lib" "$out/$jar"
cp -R "$target/lib" "$out/lib"
cp "$target/$jar" "$out/$jar"
echo "$want" > "$out/pom.sha256"
rm -rf "$build"
echo "apicurio: built $out/$jar"
