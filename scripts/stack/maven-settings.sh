# Maven settings for the stack's builds (sourced by stack.sh and apicurio/build.sh).
#
#   maven_settings_args <state-dir>   sets the array MAVEN_SETTINGS_ARGS
#
# Some upstream POMs (Apicurio, Quarkus extensions) name repositories that a
# network limited to Maven Central cannot reach, and Maven aborts on them.
# The rule:
#   - the user's ~/.m2/settings.xml (or Maven's global settings) declares a
#     mirror: nothing is added, the user's own mirrors (a corporate proxy,
#     Nexus, Artifactory) serve every repository as they do for any build;
#   - otherwise: a generated *global* settings file (`-gs`, so the user's own
#     settings -- proxies, servers, local repository -- still apply) mirrors
#     every repository to Maven's default repository, whose address is read
#     from Maven's own super POM rather than written here.
# MAVEN_SETTINGS_ARGS is empty or (-gs <file>).

# Settings text without XML comments (the stock files hold commented examples).
_mvn_settings_text() { [[ -f "$1" ]] && perl -0777 -pe 's/<!--.*?-->//gs' "$1" || true; }

_mvn_home() { mvn --version 2>/dev/null | sed -n 's/^Maven home: *//p' | head -1; }

# The default repository's URL from the super POM inside Maven's model builder.
_mvn_central_url() {
  local home="$1" jar
  jar="$(ls "$home"/lib/maven-model-builder*.jar 2>/dev/null | head -1)"
  [[ -n $jar ]] || return 1
  unzip -p "$jar" org/apache/maven/model/pom-4.0.0.xml 2>/dev/null |
    perl -0777 -ne 'print $1 if m{<repository>\s*<id>central</id>.*?<url>\s*([^<\s]+)\s*</url>}s'
}

maven_settings_args() {
  local state="$1" home user global central out
  MAVEN_SETTINGS_ARGS=()
  home="$(_mvn_home)"
  user="${HOME}/.m2/settings.xml"
  global="$home/conf/settings.xml"
  # Maven's stock global settings mirror only plain-http repositories to a
  # blocked address (maven-default-http-blocker); that is not a user's mirror.
  if _mvn_settings_text "$user" | grep -q '<mirror>' ||
     _mvn_settings_text "$global" | perl -0777 -ne 'exit(!(grep { !/maven-default-http-blocker/ } m{<mirror>.*?</mirror>}gs))'; then
    return 0
  fi
  central="$(_mvn_central_url "$home")"
  [[ $central == https://* ]] || { echo "maven: default repository not found in Maven's super POM under $home" >&2; return 1; }
  mkdir -p "$state"
  out="$state/maven-global-settings.xml"
  local mirror="<mirror><id>stack-default-repository</id><name>Maven's default repository for every repository</name><url>$central</url><mirrorOf>*</mirrorOf></mirror>"
  if _mvn_settings_text "$global" | grep -q '<settings'; then
    # Maven's own global settings with the mirror first (mirrors are matched in order).
    _mvn_settings_text "$global" | MIRROR="$mirror" perl -0777 -pe '
      s{<mirrors>}{<mirrors>\n    $ENV{MIRROR}} or s{</settings>}{  <mirrors>\n    $ENV{MIRROR}\n  </mirrors>\n</settings>}' >"$out"
  else
    printf '<?xml version="1.0" encoding="UTF-8"?>\n<settings>\n  <mirrors>\n    %s\n  </mirrors>\n</settings>\n' "$mirror" >"$out"
  fi
  MAVEN_SETTINGS_ARGS=(-gs "$out")
}
