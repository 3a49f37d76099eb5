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

# go_tool NAME MODULE VERSION [ENV=VAL...]
# Prints the path of the binary NAME built from MODULE@VERSION, building it on first use.
# Concurrent callers wait on a per-tool lock instead of building twice.
go_tool() {
  local name=$1 module=$2 version=$3; shift 3
  local dir="$HALLMARK_CACHE/tools/$name/$version"
  local bin
  bin="$dir/$(basename "$module")"
  if [ ! -x "$dir/.done" ] && [ ! -f "$dir/.done" ]; then
    mkdir -p "$dir"
    (
      flock 9
      if [ ! -f "$dir/.done" ]; then
        local start=$SECONDS
        log "building $name $module@$version (cached in $dir)"
        env "$@" GOBIN="$dir" go install -trimpath "$module@$version" >&2 \
          || die "go install $module@$version failed"
        printf '%s\n' "$((SECONDS - start))" > "$dir/.build-seconds"
        touch "$dir/.done"
        log "built $name in $((SECONDS - start)) s"
      fi
    ) 9>"$dir.lock" || exit 2
  fi
  printf '%s\n' "$bin"
}

# cargo_tool NAME VERSION
# Prints the path of the cargo subcommand binary NAME@VERSION, installing it on first use.
cargo_tool() {
  local name=$1 version=$2
  local root="$HALLMARK_CACHE/tools/$name/$version"
  if [ ! -f "$root/.done" ]; then
    mkdir -p "$root"
    (
      flock 9
      if [ ! -f "$root/.done" ]; then
        local start=$SECONDS
        log "installing $name $version (cached in $root)"
        CARGO_TARGET_DIR="$HALLMARK_CACHE/cargo-target/$name" \
          cargo install --locked --quiet --root "$root" "$name@$version" >&2 \
          || die "cargo install $name@$version failed"
        printf '%s\n' "$((SECONDS - start))" > "$root/.build-seconds"
        rm -rf "$HALLMARK_CACHE/cargo-target/$name"
        touch "$root/.done"
        log "installed $name in $((SECONDS - start)) s"
      fi
    ) 9>"$root.lock" || exit 2
  fi
  printf '%s\n' "$root/bin/$name"
}

# py_tool NAME PACKAGE VERSION [EXECUTABLE]
# Prints the path of EXECUTABLE (default NAME) from PyPI PACKAGE==VERSION, installed once
# into its own virtualenv in the cache.
py_tool() {
  local name=$1 package=$2 version=$3 exe=${4:-$1}
  local venv="$HALLMARK_CACHE/tools/$name/$version"
  if [ ! -f "$venv/.done" ]; then
    mkdir -p "$(dirname "$venv")"
    (
      flock 9
      if [ ! -f "$venv/.done" ]; then
        log "installing $package==$version (cached in $venv)"
        python3 -m venv "$venv" >&2 || die "python3 -m venv failed"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "$package==$version" >&2 \
          || die "pip install $package==$version failed"
        touch "$venv/.done"
      fi
    ) 9>"$venv.lock" || exit 2
  fi
  printf '%s\n' "$venv/bin/$exe"
}

# go_local_tool NAME DIR
# Prints the path of the binary NAME built from the Go module in DIR (a directory of this
# repository, with its own go.mod and go.sum). Cached by a hash of the module's files, so an
# edit or a dependency bump rebuilds it once.
go_local_tool() {
  local name=$1 src=$2 key
  key=$(cd "$src" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-16)
  local dir="$HALLMARK_CACHE/tools/$name/$key"
  if [ ! -f "$dir/.done" ]; then
    mkdir -p "$dir"
    (
      flock 9
      if [ ! -f "$dir/.done" ]; then
        local start=$SECONDS
        log "building $name from $src (cached in $dir)"
        (cd "$src" && go build -trimpath -o "$dir/$name" .) >&2 || die "go build $src failed"
        printf '%s\n' "$((SECONDS - start))" > "$dir/.build-seconds"
        touch "$dir/.done"
        log "built $name in $((SECONDS - start)) s"
      fi
    ) 9>"$dir.lock" || exit 2
  fi
  printf '%s\n' "$dir/$name"
}
