# shellcheck shell=bash
# Shared helpers for tests/stack/* and tests/run: cache layout and tool installation.
# Everything built is cached under $HALLMARK_CACHE (default: the user's cache directory),
# keyed by version, so a warm machine reuses it and a version bump rebuilds only that tool.

HALLMARK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
# shellcheck source=tests/stack/versions
. "$HALLMARK_ROOT/tests/stack/versions"

HALLMARK_CACHE=${HALLMARK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hallmark}
mkdir -p "$HALLMARK_CACHE"
# Go module and build caches live in the cache too: a cold machine fills them once.
export GOMODCACHE="$HALLMARK_CACHE/go/mod"
export GOCACHE="$HALLMARK_CACHE/go/build"
export GOFLAGS="${GOFLAGS:-} -modcacherw"
export GOTOOLCHAIN=local

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 2; }

# cached DIR LABEL COMMAND...
# Runs COMMAND once to fill the cache directory DIR (marked done by DIR/.done), under a
# per-directory lock so concurrent callers wait instead of building twice, and records
# the build time in DIR/.build-seconds. A failed build leaves DIR not done.
cached() {
  local dir=$1 label=$2; shift 2
  [ -f "$dir/.done" ] && return 0
  mkdir -p "$dir"
  (
    flock 9
    if [ ! -f "$dir/.done" ]; then
      local start=$SECONDS
      log "building $label (cached in $dir)"
      "$@" >&2 || die "building $label failed"
      printf '%s\n' "$((SECONDS - start))" > "$dir/.build-seconds"
      touch "$dir/.done"
      log "built $label in $((SECONDS - start)) s"
    fi
  ) 9>"$dir.lock" || exit 2
}

# go_tool NAME MODULE VERSION [ENV=VAL...]
# Prints the path of the binary built from MODULE@VERSION, building it on first use.
go_tool() {
  local name=$1 module=$2 version=$3; shift 3
  local dir="$HALLMARK_CACHE/tools/$name/$version"
  cached "$dir" "$name $module@$version" env "$@" GOBIN="$dir" go install -trimpath "$module@$version"
  printf '%s\n' "$dir/$(basename "$module")"
}

# cargo_tool NAME VERSION
# Prints the path of the cargo subcommand binary NAME@VERSION, installing it on first use.
cargo_tool() {
  local name=$1 version=$2
  local root="$HALLMARK_CACHE/tools/$name/$version"
  cached "$root" "$name $version" _cargo_install "$name" "$version" "$root"
  printf '%s\n' "$root/bin/$name"
}
_cargo_install() {
  local target="$HALLMARK_CACHE/cargo-target/$1"
  CARGO_TARGET_DIR="$target" cargo install --locked --quiet --root "$3" "$1@$2" \
    && rm -rf "$target"
}

# py_tool NAME PACKAGE VERSION [EXECUTABLE]
# Prints the path of EXECUTABLE (default NAME) from PyPI PACKAGE==VERSION, installed once
# into its own virtualenv in the cache.
py_tool() {
  local name=$1 package=$2 version=$3 exe=${4:-$1}
  local venv="$HALLMARK_CACHE/tools/$name/$version"
  cached "$venv" "$package==$version" _pip_install "$venv" "$package==$version"
  printf '%s\n' "$venv/bin/$exe"
}
_pip_install() {
  python3 -m venv "$1" && "$1/bin/pip" install --quiet --disable-pip-version-check "$2"
}

# go_local_tool NAME DIR
# Prints the path of the binary NAME built from the Go module in DIR (a directory of this
# repository, with its own go.mod and go.sum). Cached by a hash of the module's files, so an
# edit or a dependency bump rebuilds it once.
go_local_tool() {
  local name=$1 src=$2 key
  key=$(cd "$src" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-16)
  local dir="$HALLMARK_CACHE/tools/$name/$key"
  cached "$dir" "$name from $src" _go_build "$src" "$dir/$name"
  printf '%s\n' "$dir/$name"
}
_go_build() { (cd "$1" && go build -trimpath -o "$2" .); }
