# shellcheck shell=bash
# The local stack: which components exist, how each is installed, started, checked and
# stopped. Sourced by tests/stack/{up,down,start,stop,restart,status,env}.
#
# Everything runs on 127.0.0.1 at fixed ports, as processes started by these scripts (never
# the system services), with state under the run directory:
#   $STACK_DIR/logs/C.log    output of component C
#   $STACK_DIR/pids/C.pid    PID of C while it runs (what stop and down kill)
#   $STACK_DIR/state/C       C was started at least once (tests/stack/env exports its names)
#   $STACK_DIR/C/            C's data and generated files (kept by stop/start/restart)
#   $STACK_DIR/tls/ca.pem    the CA of the TLS registry
#   $STACK_DIR/env           the output of tests/stack/env at the end of the last up

# shellcheck source=SCRIPTDIR/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# mariadbd lives in /usr/sbin, which a non-login PATH may lack.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac
STACK_DIR=${HALLMARK_STACK_DIR:-$HALLMARK_CACHE/run}
STACK_HOST=127.0.0.1
PORT_REGISTRY=15000
PORT_REGISTRY_REFERRERS=15001
PORT_REGISTRY_TLS=15443
PORT_MARIADB=13306
PORT_REDIS=16379
PORT_TRILLIAN_RPC=18090
PORT_TRILLIAN_HTTP=18091
PORT_SIGNER_RPC=18092
PORT_SIGNER_HTTP=18093
PORT_REKOR=13000
# Rekor v1 also listens on :2112 for metrics; that port is hard-wired in rekor-server.

# In dependency order: a component comes after everything it needs.
COMPONENTS=(registry registry-referrers registry-tls mariadb redis
  trillian-log-server trillian-log-signer rekor)

# Later parts of the stack live in their own files, tests/stack/lib/part-NAME.sh. Each one
# appends its components to COMPONENTS (in dependency order), records which part owns each
# in COMPONENT_PART, and defines NAME_{deps,install,prepare,cmd,healthy,after} C (called for
# the components it owns, like the cases below), NAME_install_peers and NAME_env.
STACK_PARTS=()
declare -A COMPONENT_PART=()
# part_hook STEP C : runs the STEP function of the part that owns component C (if any).
part_hook() {
  local part=${COMPONENT_PART[$2]:-}
  [ -n "$part" ] || return 0
  "${part}_$1" "$2"
}
for _part_file in "$(dirname "${BASH_SOURCE[0]}")"/part-*.sh; do
  [ -f "$_part_file" ] || continue
  # shellcheck source=/dev/null
  . "$_part_file"
done
unset _part_file

deps_of() {
  case $1 in
    trillian-log-server | trillian-log-signer) echo mariadb ;;
    rekor) echo redis trillian-log-server trillian-log-signer ;;
    *) part_hook deps "$1" ;;
  esac
}

is_component() {
  local c
  for c in "${COMPONENTS[@]}"; do [ "$c" = "$1" ] && return 0; done
  return 1
}

# resolve NAME... : prints the named components plus what they need, in start order.
# No name means all. "trillian" names the log server and the signer.
resolve() {
  local -A want=()
  local todo=() n c d
  [ $# -eq 0 ] && set -- "${COMPONENTS[@]}"
  for n in "$@"; do
    case $n in
      trillian) todo+=(trillian-log-server trillian-log-signer) ;;
      *) is_component "$n" || die "unknown component: $n (one of: ${COMPONENTS[*]} trillian)"
        todo+=("$n") ;;
    esac
  done
  while [ ${#todo[@]} -gt 0 ]; do
    c=${todo[0]}; todo=("${todo[@]:1}")
    [ -n "${want[$c]:-}" ] && continue
    want[$c]=1
    for d in $(deps_of "$c"); do todo+=("$d"); done
  done
  for c in "${COMPONENTS[@]}"; do [ -n "${want[$c]:-}" ] && echo "$c"; done
  return 0
}

# --- installation ---------------------------------------------------------------------

# ensure_apt COMMAND PACKAGE... : installs the Debian packages when COMMAND is missing.
# Their services are not started (our own instances run instead).
ensure_apt() {
  local cmd=$1; shift
  command -v "$cmd" >/dev/null 2>&1 && return 0
  mkdir -p "$HALLMARK_CACHE"
  (
    flock 9
    command -v "$cmd" >/dev/null 2>&1 && exit 0
    log "installing Debian packages: $*"
    local policy=/usr/sbin/policy-rc.d added=
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && added=1
    fi
    local rc=0
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; } \
      >"$HALLMARK_CACHE/apt.log" 2>&1 || rc=$?
    [ -n "$added" ] && rm -f "$policy"
    [ $rc -eq 0 ] || { tail -20 "$HALLMARK_CACHE/apt.log" >&2; die "apt-get install $* failed"; }
  ) 9>"$HALLMARK_CACHE/apt.lock" || exit 2
}

ensure_base_tools() {
  ensure_apt curl curl ca-certificates
  ensure_apt jq jq
  ensure_apt openssl openssl
  ensure_apt flock util-linux
  ensure_apt setsid util-linux
}

tool() { "$HALLMARK_ROOT/tests/stack/install" "$1"; }

# check_deb PACKAGE VERSION_PREFIX : the installed Debian package has the pinned version.
check_deb() {
  local v
  v=$(dpkg-query -W -f '${Version}' "$1" 2>/dev/null) || die "Debian package $1 is not installed"
  v=${v#*:}
  case $v in "$2"*) ;; *) die "Debian package $1 is $v, tests/stack/versions pins $2" ;; esac
}

install_component() {
  case $1 in
    registry) ensure_apt docker-registry docker-registry
      check_deb docker-registry "$DEB_DOCKER_REGISTRY_VERSION" ;;
    registry-tls) ensure_apt docker-registry docker-registry
      check_deb docker-registry "$DEB_DOCKER_REGISTRY_VERSION"
      ensure_apt htpasswd apache2-utils ;;
    registry-referrers)
      grep -q "github.com/google/go-containerregistry $REFERRERS_REGISTRY_GGCR_VERSION\$" \
        "$HALLMARK_ROOT/tests/stack/referrers-registry/go.mod" \
        || die "tests/stack/referrers-registry/go.mod must require go-containerregistry $REFERRERS_REGISTRY_GGCR_VERSION"
      tool referrers-registry >/dev/null ;;
    mariadb) ensure_apt mariadbd mariadb-server mariadb-client
      check_deb mariadb-server "$DEB_MARIADB_VERSION" ;;
    redis) ensure_apt redis-server redis-server redis-tools
      check_deb redis-server "$DEB_REDIS_VERSION" ;;
    trillian-log-server | trillian-log-signer) tool "$1" >/dev/null ;;
    rekor) tool rekor-server >/dev/null; tool cosign >/dev/null ;;
    *) part_hook install "$1" ;;
  esac
}

# The peers that tests/stack/env names: built once, cached.
install_peers() {
  local t
  for t in cosign cosign-v2 rekor-cli crane; do tool "$t" >/dev/null; done
  for p in "${STACK_PARTS[@]}"; do "${p}_install_peers"; done
}

# --- per-component setup and command lines --------------------------------------------

make_tls() {
  local d=$STACK_DIR/tls
  [ -f "$d/server.pem" ] && return 0
  mkdir -p "$d"
  log "creating the stack CA and the TLS registry's certificate in $d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=hallmark test stack CA" -keyout "$d/ca-key.pem" -out "$d/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$d/server-key.pem" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' \
    > "$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial \
    -days 3650 -extfile "$d/server.ext" -out "$d/server.pem" 2>/dev/null
}

registry_config() {
  local c=$1 port=$2 d=$STACK_DIR/$1
  mkdir -p "$d/data"
  {
    echo "version: 0.1"
    echo "log: {level: info, accesslog: {disabled: false}}"
    echo "storage:"
    echo "  filesystem: {rootdirectory: $d/data}"
    echo "  delete: {enabled: true}"
    echo "  cache: {blobdescriptor: inmemory}"
    echo "http:"
    echo "  addr: $STACK_HOST:$port"
    echo "  secret: hallmark-$c"
    if [ "$c" = registry-tls ]; then
      echo "  tls: {certificate: $STACK_DIR/tls/server.pem, key: $STACK_DIR/tls/server-key.pem}"
      echo "auth:"
      echo "  htpasswd: {realm: hallmark, path: $d/htpasswd}"
    fi
  } > "$d/config.yml"
}

prepare_component() {
  local c=$1 d=$STACK_DIR/$1
  mkdir -p "$d"
  case $c in
    registry) registry_config registry "$PORT_REGISTRY" ;;
    registry-referrers) mkdir -p "$d/data" ;;
    registry-tls)
      make_tls
      if [ ! -f "$d/password" ]; then
        echo hallmark > "$d/user"
        openssl rand -hex 16 > "$d/password"
        htpasswd -Bbc "$d/htpasswd" "$(cat "$d/user")" "$(cat "$d/password")" 2>/dev/null
      fi
      registry_config registry-tls "$PORT_REGISTRY_TLS" ;;
    mariadb)
      if [ ! -d "$d/data/mysql" ]; then
        log "initializing MariaDB in $d/data"
        mariadb-install-db --user=root --datadir="$d/data" --auth-root-authentication-method=normal \
          --skip-test-db >"$d/install-db.log" 2>&1 || { cat "$d/install-db.log" >&2; die "mariadb-install-db failed"; }
        rm -f "$d/.schema-loaded"
      fi ;;
    redis) mkdir -p "$d/data" ;;
    rekor)
      mkdir -p "$d/attestations"
      if [ ! -f "$d/signer.pem" ]; then
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/signer.pem" 2>/dev/null
      fi ;;
    *) part_hook prepare "$c" ;;
  esac
}

# component_cmd C : sets CMD to the command line that runs C in the foreground.
component_cmd() {
  local c=$1 d=$STACK_DIR/$1
  case $c in
    registry | registry-tls) CMD=(docker-registry serve "$d/config.yml") ;;
    registry-referrers)
      CMD=("$(tool referrers-registry)" -addr "$STACK_HOST:$PORT_REGISTRY_REFERRERS" -dir "$d/data") ;;
    mariadb)
      CMD=(mariadbd --no-defaults --user=root --datadir="$d/data" --socket="$d/mysqld.sock"
        --pid-file="$d/mysqld.pid" --bind-address="$STACK_HOST" --port="$PORT_MARIADB"
        --skip-name-resolve --innodb-buffer-pool-size=64M --log-error="$d/error.log") ;;
    redis)
      CMD=(redis-server --bind "$STACK_HOST" --port "$PORT_REDIS" --dir "$d/data"
        --appendonly yes --save "" --protected-mode no --daemonize no) ;;
    trillian-log-server)
      CMD=("$(tool trillian-log-server)" --storage_system=mysql --mysql_uri="$(trillian_dsn)"
        --quota_system=noop --rpc_endpoint="$STACK_HOST:$PORT_TRILLIAN_RPC"
        --http_endpoint="$STACK_HOST:$PORT_TRILLIAN_HTTP" --tree_gc=false) ;;
    trillian-log-signer)
      CMD=("$(tool trillian-log-signer)" --storage_system=mysql --mysql_uri="$(trillian_dsn)"
        --quota_system=noop --force_master --rpc_endpoint="$STACK_HOST:$PORT_SIGNER_RPC"
        --http_endpoint="$STACK_HOST:$PORT_SIGNER_HTTP" --sequencer_interval=100ms) ;;
    rekor)
      # Attestation storage writes through TMPDIR: it must be the bucket's directory.
      CMD=(env "TMPDIR=$d/attestations" "$(tool rekor-server)" serve
        --rekor_server.address="$STACK_HOST" --port="$PORT_REKOR"
        --rekor_server.signer="$d/signer.pem"
        --trillian_log_server.address="$STACK_HOST" --trillian_log_server.port="$PORT_TRILLIAN_RPC"
        --search_index.storage_provider=redis --redis_server.address="$STACK_HOST"
        --redis_server.port="$PORT_REDIS"
        --enable_attestation_storage --attestation_storage_bucket="file://$d/attestations"
        --log_type=prod)
      # First start: Rekor creates the Trillian tree. Later starts reuse it, so the log
      # survives a restart.
      if [ -s "$d/tree-id" ]; then
        CMD+=(--trillian_log_server.tlog_id="$(cat "$d/tree-id")")
      fi ;;
    *) part_hook cmd "$c" ;;
  esac
}

trillian_dsn() {
  echo "trillian:trillian@tcp($STACK_HOST:$PORT_MARIADB)/trillian?parseTime=true&interpolateParams=true"
}

# --- health ---------------------------------------------------------------------------

http_code() { curl -s -o /dev/null -m 3 -w '%{http_code}' "$@" 2>/dev/null || true; }

healthy() {
  local c=$1
  case $c in
    registry) [ "$(http_code "http://$STACK_HOST:$PORT_REGISTRY/v2/")" = 200 ] ;;
    registry-referrers) [ "$(http_code "http://$STACK_HOST:$PORT_REGISTRY_REFERRERS/v2/")" = 200 ] ;;
    registry-tls) [ "$(http_code --cacert "$STACK_DIR/tls/ca.pem" "https://$STACK_HOST:$PORT_REGISTRY_TLS/v2/")" = 401 ] ;;
    mariadb) mariadb-admin --no-defaults --socket="$STACK_DIR/mariadb/mysqld.sock" -uroot ping >/dev/null 2>&1 ;;
    redis) [ "$(redis-cli -h "$STACK_HOST" -p "$PORT_REDIS" ping 2>/dev/null)" = PONG ] ;;
    trillian-log-server) [ "$(http_code "http://$STACK_HOST:$PORT_TRILLIAN_HTTP/healthz")" = 200 ] ;;
    trillian-log-signer) [ "$(http_code "http://$STACK_HOST:$PORT_SIGNER_HTTP/healthz")" = 200 ] ;;
    rekor) [ "$(http_code "http://$STACK_HOST:$PORT_REKOR/api/v1/log")" = 200 ] ;;
    *) part_hook healthy "$c" ;;
  esac
}

pid_file() { echo "$STACK_DIR/pids/$1.pid"; }

# proc_start PID : the process's start time (clock ticks since boot), to tell it from a
# later process that reuses the PID. Nothing for a process that has exited (a zombie).
proc_start() {
  local stat
  stat=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 0
  case $stat in Z* | X*) return 0 ;; esac
  cut -d' ' -f20 <<<"$stat"
}

# running C : true when C's recorded process is alive (same PID and start time).
running() {
  local f pid started
  f=$(pid_file "$1")
  [ -f "$f" ] || return 1
  read -r pid started < "$f" || true
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ "$(proc_start "$pid")" = "$started" ]
}

pid_of() { local pid _; read -r pid _ < "$(pid_file "$1")"; echo "$pid"; }

wait_healthy() {
  local c=$1 timeout=${2:-120} start=$SECONDS
  while :; do
    if ! running "$c"; then
      tail -30 "$STACK_DIR/logs/$c.log" >&2 || true
      die "$c exited during start-up (log: $STACK_DIR/logs/$c.log)"
    fi
    healthy "$c" && return 0
    if [ $((SECONDS - start)) -ge "$timeout" ]; then
      tail -30 "$STACK_DIR/logs/$c.log" >&2 || true
      die "$c not healthy after ${timeout}s (log: $STACK_DIR/logs/$c.log)"
    fi
    sleep 0.2
  done
}

# --- after start ----------------------------------------------------------------------

after_start() {
  local c=$1 d=$STACK_DIR/$1
  case $c in
    mariadb)
      if [ ! -f "$d/.schema-loaded" ]; then
        local schema="$GOMODCACHE/$TRILLIAN_MODULE@$TRILLIAN_VERSION/storage/mysql/schema/storage.sql"
        if [ ! -f "$schema" ]; then
          tool trillian-log-server >/dev/null
        fi
        [ -f "$schema" ] || die "Trillian schema not found at $schema"
        log "loading the Trillian schema into MariaDB"
        local sql=(mariadb --no-defaults --socket="$d/mysqld.sock" -uroot)
        "${sql[@]}" -e "CREATE DATABASE IF NOT EXISTS trillian;
          CREATE USER IF NOT EXISTS 'trillian'@'127.0.0.1' IDENTIFIED BY 'trillian';
          CREATE USER IF NOT EXISTS 'trillian'@'localhost' IDENTIFIED BY 'trillian';
          GRANT ALL ON trillian.* TO 'trillian'@'127.0.0.1';
          GRANT ALL ON trillian.* TO 'trillian'@'localhost';" || die "creating the trillian database failed"
        "${sql[@]}" trillian < "$schema" || die "loading $schema failed"
        touch "$d/.schema-loaded"
      fi ;;
    rekor)
      local log_json tree
      log_json=$(curl -fsS -m 5 "http://$STACK_HOST:$PORT_REKOR/api/v1/log") || die "rekor: /api/v1/log failed"
      tree=$(jq -r .treeID <<<"$log_json")
      if [ -z "$tree" ] || [ "$tree" = null ]; then die "rekor: no treeID in $log_json"; fi
      if [ -s "$d/tree-id" ] && [ "$(cat "$d/tree-id")" != "$tree" ]; then
        die "rekor: serving tree $tree, expected $(cat "$d/tree-id")"
      fi
      if [ ! -s "$d/tree-id" ]; then
        echo "$tree" > "$d/tree-id"
        # The log's validity starts before its first entry; a minute of slack for clocks.
        date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%SZ > "$d/start-time"
      fi
      curl -fsS -m 5 "http://$STACK_HOST:$PORT_REKOR/api/v1/log/publicKey" > "$d/pubkey.pem.tmp" \
        || die "rekor: fetching the public key failed"
      mv "$d/pubkey.pem.tmp" "$d/pubkey.pem"
      if [ ! -f "$d/trusted_root.json" ]; then
        "$(tool cosign)" trusted-root create \
          --rekor="url=http://$STACK_HOST:$PORT_REKOR,public-key=$d/pubkey.pem,start-time=$(cat "$d/start-time")" \
          --out "$d/trusted_root.json" >>"$STACK_DIR/logs/rekor.log" 2>&1 \
          || die "cosign trusted-root create failed (log: $STACK_DIR/logs/rekor.log)"
      fi ;;
    *) part_hook after "$c" ;;
  esac
}

# --- lifecycle ------------------------------------------------------------------------

start_component() {
  local c=$1
  mkdir -p "$STACK_DIR/logs" "$STACK_DIR/pids" "$STACK_DIR/state"
  if running "$c"; then
    wait_healthy "$c" 60
    return 0
  fi
  rm -f "$(pid_file "$c")"
  install_component "$c"
  if healthy "$c"; then
    die "$c: another process already answers on its port (not started by these scripts)"
  fi
  prepare_component "$c"
  local CMD=()
  component_cmd "$c"
  log "starting $c"
  printf '\n=== %s start: %s\n' "$(date -u +%FT%TZ)" "${CMD[*]}" >> "$STACK_DIR/logs/$c.log"
  # fd 8 is the stack lock held by up/start: the daemon must not inherit it.
  setsid "${CMD[@]}" </dev/null >>"$STACK_DIR/logs/$c.log" 2>&1 8>&- &
  local pid=$!
  echo "$pid $(proc_start "$pid")" > "$(pid_file "$c")"
  touch "$STACK_DIR/state/$c"
  wait_healthy "$c"
  after_start "$c"
  log "$c is up (pid $pid)"
}

# stop_components C... : TERM to each running one at once, wait up to $STOP_GRACE seconds
# (default 30) for all, then KILL what is left. Data and ports are kept; start brings them back.
stop_components() {
  local c pids=() waiting grace=${STOP_GRACE:-30}
  for c in "$@"; do
    if running "$c"; then
      log "stopping $c (pid $(pid_of "$c"))"
      kill -TERM "$(pid_of "$c")" 2>/dev/null || true
      pids+=("$c")
    fi
  done
  for _ in $(seq 1 $((grace * 10))); do
    waiting=
    for c in "${pids[@]}"; do running "$c" && waiting=1; done
    [ -z "$waiting" ] && break
    sleep 0.1
  done
  for c in "${pids[@]}"; do
    if running "$c"; then
      log "$c did not stop in $grace s: killing it"
      kill -KILL "$(pid_of "$c")" 2>/dev/null || true
    fi
  done
  for c in "$@"; do rm -f "$(pid_file "$c")"; done
}

status_line() {
  local c=$1 state
  if running "$c"; then
    if healthy "$c"; then state=healthy; else state=unhealthy; fi
    printf '%-22s %-10s pid %s\n' "$c" "$state" "$(pid_of "$c")"
  elif [ -f "$STACK_DIR/state/$c" ]; then
    printf '%-22s %-10s\n' "$c" stopped
  else
    printf '%-22s %-10s\n' "$c" "not-started"
  fi
}

# print_env : the export lines for the components that up has started (see STACK-NOTES.md).
print_env() {
  local s=$STACK_DIR/state
  printf 'export HALLMARK_STACK_DIR=%q\n' "$STACK_DIR"
  [ -f "$s/registry" ] && printf 'export HALLMARK_STACK_REGISTRY=%q\n' "$STACK_HOST:$PORT_REGISTRY"
  [ -f "$s/registry-referrers" ] &&
    printf 'export HALLMARK_STACK_REGISTRY_REFERRERS=%q\n' "$STACK_HOST:$PORT_REGISTRY_REFERRERS"
  if [ -f "$s/registry-tls" ]; then
    printf 'export HALLMARK_STACK_REGISTRY_TLS=%q\n' "$STACK_HOST:$PORT_REGISTRY_TLS"
    printf 'export HALLMARK_STACK_REGISTRY_TLS_CA=%q\n' "$STACK_DIR/tls/ca.pem"
    printf 'export HALLMARK_STACK_REGISTRY_TLS_USER=%q\n' "$(cat "$STACK_DIR/registry-tls/user")"
    printf 'export HALLMARK_STACK_REGISTRY_TLS_PASSWORD=%q\n' "$(cat "$STACK_DIR/registry-tls/password")"
  fi
  if [ -f "$s/rekor" ] && [ -s "$STACK_DIR/rekor/tree-id" ]; then
    printf 'export HALLMARK_STACK_REKOR_URL=%q\n' "http://$STACK_HOST:$PORT_REKOR"
    printf 'export HALLMARK_STACK_REKOR_PUBKEY=%q\n' "$STACK_DIR/rekor/pubkey.pem"
    printf 'export HALLMARK_STACK_REKOR_TREE_ID=%q\n' "$(cat "$STACK_DIR/rekor/tree-id")"
    printf 'export HALLMARK_STACK_TRUSTED_ROOT=%q\n' "$STACK_DIR/rekor/trusted_root.json"
  fi
  printf 'export HALLMARK_STACK_COSIGN=%q\n' "$(tool cosign)"
  printf 'export HALLMARK_STACK_COSIGN_V2=%q\n' "$(tool cosign-v2)"
  printf 'export HALLMARK_STACK_REKOR_CLI=%q\n' "$(tool rekor-cli)"
  printf 'export HALLMARK_STACK_CRANE=%q\n' "$(tool crane)"
  for p in "${STACK_PARTS[@]}"; do "${p}_env"; done
}
