# shellcheck shell=bash
# shellcheck disable=SC2034 # COMPONENT_PART and CMD are set for stack.sh, which sources this file
# Part 2 of the local stack (issue 5): keyless signing and the newer Sigstore services.
# Sourced by stack.sh. Components, in dependency order:
#   oidc            the static OIDC issuer (tests/stack/oidc): discovery + JWKS
#   ctlog           the CT log (TesseraCT posix), accepting chains to the Fulcio root
#   fulcio          Fulcio with a file CA (a root made once per run directory), SCTs from ctlog
#   tsa             the timestamp authority (tests/stack/tsa), a file signer with its own chain
#   rekor-v2        Rekor v2 (rekor-tiles posix), an Ed25519 checkpoint key
#   rekor-v2-tiles  a static HTTP server over Rekor v2's tiles
#   tuf             the trust files (trusted_root.json, signing_config.json, the ClientTrustConfig),
#                   regenerated at each start, and a TUF repository (tuftool) that carries them
#                   as targets, served over HTTP
# Every key and CA is made once per run directory, so restarts keep the trust files valid.

PORT_OIDC=17000
PORT_CTLOG=17001
PORT_FULCIO=17002
PORT_FULCIO_METRICS=17003
PORT_TSA=17004
PORT_REKOR_V2=17005
PORT_REKOR_V2_GRPC=17006
PORT_REKOR_V2_METRICS=17007
PORT_REKOR_V2_TILES=17008
PORT_TUF=17009
PORT_FULCIO_GRPC=17010

SIGSTORE_COMPONENTS=(oidc ctlog fulcio tsa rekor-v2 rekor-v2-tiles tuf)
COMPONENTS+=("${SIGSTORE_COMPONENTS[@]}")
for _c in "${SIGSTORE_COMPONENTS[@]}"; do COMPONENT_PART[$_c]=sigstore; done
unset _c
STACK_PARTS+=(sigstore)

SIGSTORE_OIDC_URL=http://$STACK_HOST:$PORT_OIDC
SIGSTORE_CTLOG_URL=http://$STACK_HOST:$PORT_CTLOG
# The CT log's checkpoint origin (a URL without scheme; "host:port" does not parse as one).
SIGSTORE_CTLOG_ORIGIN=hallmark-stack.test/ctlog
SIGSTORE_FULCIO_URL=http://$STACK_HOST:$PORT_FULCIO
SIGSTORE_TSA_URL=http://$STACK_HOST:$PORT_TSA/api/v1/timestamp
SIGSTORE_REKOR_V2_URL=http://$STACK_HOST:$PORT_REKOR_V2
# Rekor v2's checkpoint origin (its log id is the note key hash of this name and its key).
# Verifiers (sigstore-go) take it to be the host name of the log's URL, without the port.
SIGSTORE_REKOR_V2_ORIGIN=$STACK_HOST
SIGSTORE_REKOR_V2_TILES_URL=http://$STACK_HOST:$PORT_REKOR_V2_TILES
SIGSTORE_TUF_URL=http://$STACK_HOST:$PORT_TUF
SIGSTORE_OPERATOR=hallmark-stack

sigstore_deps() {
  case $1 in
    fulcio) echo oidc ctlog ;;
    rekor-v2-tiles) echo rekor-v2 ;;
    tuf) echo rekor fulcio ctlog tsa rekor-v2 rekor-v2-tiles oidc ;;
  esac
}

sigstore_install() {
  case $1 in
    oidc) tool oidc-issuer >/dev/null ;;
    ctlog) tool tesseract >/dev/null ;;
    fulcio) tool fulcio >/dev/null ;;
    tsa) tool timestamp-server >/dev/null ;;
    rekor-v2) tool rekor-tiles >/dev/null ;;
    rekor-v2-tiles) command -v python3 >/dev/null || ensure_apt python3 python3 ;;
    tuf) tool tuftool >/dev/null; tool cosign >/dev/null
      command -v python3 >/dev/null || ensure_apt python3 python3 ;;
  esac
}

sigstore_install_peers() {
  tool sigstore-python >/dev/null
  tool tuftool >/dev/null
}

# A start time for a log or CA, recorded once (a minute of slack for clocks).
sigstore_start_time() {
  [ -s "$1" ] || date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%SZ > "$1"
}

# sigstore_ca DIR CN : a self-signed ECDSA P-256 CA (DIR/ca.pem, DIR/ca-key.pem), made once.
sigstore_ca() {
  local d=$1
  [ -f "$d/ca.pem" ] && return 0
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/O=hallmark test stack/CN=$2" -keyout "$d/ca-key.pem" -out "$d/ca.pem.tmp" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null || die "openssl: making the $2 CA failed"
  mv "$d/ca.pem.tmp" "$d/ca.pem"
}

# The Fulcio root is made before the CT log starts: the log accepts only chains to it.
sigstore_fulcio_ca() {
  sigstore_ca "$STACK_DIR/fulcio/ca" "hallmark test stack Fulcio root"
  sigstore_start_time "$STACK_DIR/fulcio/ca/start-time"
}

sigstore_prepare() {
  local c=$1 d=$STACK_DIR/$1
  mkdir -p "$d"
  case $c in
    oidc)
      [ -f "$d/key.pem" ] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
        -out "$d/key.pem" 2>/dev/null || die "openssl: the OIDC issuer's key" ;;
    ctlog)
      sigstore_fulcio_ca
      mkdir -p "$d/storage"
      if [ ! -f "$d/key.pem" ]; then
        # TesseraCT reads a SEC 1 ("EC PRIVATE KEY") P-256 key.
        openssl ecparam -name prime256v1 -genkey -noout -out "$d/key.pem" 2>/dev/null \
          && openssl ec -in "$d/key.pem" -pubout -out "$d/pubkey.pem" 2>/dev/null \
          || die "openssl: the CT log's key"
      fi
      sigstore_start_time "$d/start-time" ;;
    fulcio)
      sigstore_fulcio_ca
      # Fulcio does not remove its legacy gRPC socket when it stops; a stale one stops the next start.
      rm -f "$d/legacy-grpc.sock"
      jq -n --arg iss "$SIGSTORE_OIDC_URL" \
        '{OIDCIssuers: {($iss): {IssuerURL: $iss, ClientID: "sigstore", Type: "email"}}}' \
        > "$d/config.json" ;;
    tsa)
      sigstore_ca "$d/ca" "hallmark test stack TSA root"
      sigstore_start_time "$d/start-time"
      if [ ! -f "$d/chain.pem" ]; then
        # RFC 3161 2.3: the signing certificate has one EKU, timeStamping, marked critical.
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
          -subj "/O=hallmark test stack/CN=hallmark test stack TSA" \
          -keyout "$d/key.pem" -out "$d/leaf.csr" 2>/dev/null || die "openssl: the TSA key"
        printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
          "extendedKeyUsage=critical,timeStamping" > "$d/leaf.ext"
        openssl x509 -req -in "$d/leaf.csr" -CA "$d/ca/ca.pem" -CAkey "$d/ca/ca-key.pem" \
          -CAcreateserial -days 3650 -extfile "$d/leaf.ext" -out "$d/leaf.pem" 2>/dev/null \
          || die "openssl: the TSA certificate"
        cat "$d/leaf.pem" "$d/ca/ca.pem" > "$d/chain.pem"
      fi ;;
    rekor-v2)
      mkdir -p "$d/storage"
      if [ ! -f "$d/signer.pem" ]; then
        openssl genpkey -algorithm ed25519 -out "$d/signer.pem" 2>/dev/null \
          && openssl pkey -in "$d/signer.pem" -pubout -out "$d/pubkey.pem" 2>/dev/null \
          || die "openssl: Rekor v2's key"
      fi
      sigstore_start_time "$d/start-time" ;;
    rekor-v2-tiles) mkdir -p "$STACK_DIR/rekor-v2/storage" ;;
    tuf)
      sigstore_trust_files
      sigstore_tuf_repo ;;
  esac
}

sigstore_cmd() {
  local c=$1 d=$STACK_DIR/$1
  case $c in
    oidc)
      CMD=("$(tool oidc-issuer)" serve -addr "$STACK_HOST:$PORT_OIDC" -issuer "$SIGSTORE_OIDC_URL"
        -key "$d/key.pem") ;;
    ctlog)
      CMD=("$(tool tesseract)" --http_endpoint="$STACK_HOST:$PORT_CTLOG"
        --origin="$SIGSTORE_CTLOG_ORIGIN" --storage_dir="$d/storage"
        --roots_pem_file="$STACK_DIR/fulcio/ca/ca.pem" --private_key="$d/key.pem"
        --checkpoint_interval=500ms) ;;
    fulcio)
      # HTTP and gRPC on separate ports (the one-port "duplex" mode of v1.8.8 panics registering
      # its gRPC metrics twice); metrics on their own port (the default :2112 is Rekor v1's;
      # Fulcio binds it on every interface); the legacy gRPC socket in the run directory.
      CMD=("$(tool fulcio)" serve --log_type=prod
        --host="$STACK_HOST" --port="$PORT_FULCIO" --grpc-host="$STACK_HOST" --grpc-port="$PORT_FULCIO_GRPC"
        --metrics-port="$PORT_FULCIO_METRICS" --legacy-unix-domain-socket="$d/legacy-grpc.sock"
        --ca=fileca --fileca-cert="$d/ca/ca.pem" --fileca-key="$d/ca/ca-key.pem" --fileca-key-passwd=
        --fileca-watch=false --config-path="$d/config.json"
        --ct-log-url="$SIGSTORE_CTLOG_URL" --ct-log-public-key-path="$STACK_DIR/ctlog/pubkey.pem") ;;
    tsa)
      CMD=("$(tool timestamp-server)" -host "$STACK_HOST" -port "$PORT_TSA"
        -key "$d/key.pem" -chain "$d/chain.pem") ;;
    rekor-v2)
      CMD=("$(tool rekor-tiles)" serve --http-address="$STACK_HOST" --http-port="$PORT_REKOR_V2"
        --grpc-address="$STACK_HOST" --grpc-port="$PORT_REKOR_V2_GRPC"
        --http-metrics-port="$PORT_REKOR_V2_METRICS" --hostname="$SIGSTORE_REKOR_V2_ORIGIN"
        --storage-dir="$d/storage" --signer-filepath="$d/signer.pem" --checkpoint-interval=2s) ;;
    rekor-v2-tiles)
      CMD=(python3 -m http.server "$PORT_REKOR_V2_TILES" --bind "$STACK_HOST"
        --directory "$STACK_DIR/rekor-v2/storage") ;;
    tuf)
      CMD=(python3 -m http.server "$PORT_TUF" --bind "$STACK_HOST" --directory "$d/repo/metadata") ;;
  esac
}

sigstore_healthy() {
  case $1 in
    oidc) [ "$(http_code "$SIGSTORE_OIDC_URL/.well-known/openid-configuration")" = 200 ] ;;
    ctlog) [ "$(http_code "$SIGSTORE_CTLOG_URL/ct/v1/get-roots")" = 200 ] ;;
    fulcio) [ "$(http_code "$SIGSTORE_FULCIO_URL/api/v1/rootCert")" = 200 ] ;;
    tsa) [ "$(http_code "$SIGSTORE_TSA_URL/certchain")" = 200 ] ;;
    rekor-v2) [ "$(http_code "$SIGSTORE_REKOR_V2_URL/healthz")" = 200 ] ;;
    rekor-v2-tiles) [ "$(http_code "$SIGSTORE_REKOR_V2_TILES_URL/")" = 200 ] ;;
    tuf) [ "$(http_code "$SIGSTORE_TUF_URL/1.root.json")" = 200 ] ;;
  esac
}

sigstore_after() {
  local c=$1 d=$STACK_DIR/$1
  case $c in
    fulcio)
      # The root Fulcio serves is the one the trust files name.
      curl -fsS -m 5 "$SIGSTORE_FULCIO_URL/api/v1/rootCert" > "$d/served-root.pem" \
        || die "fulcio: fetching /api/v1/rootCert failed"
      [ "$(openssl x509 -in "$d/served-root.pem" -outform der | sha256sum)" = \
        "$(openssl x509 -in "$d/ca/ca.pem" -outform der | sha256sum)" ] \
        || die "fulcio serves another root than $d/ca/ca.pem" ;;
    tsa)
      curl -fsS -m 5 "$SIGSTORE_TSA_URL/certchain" > "$d/served-chain.pem" \
        || die "tsa: fetching the certificate chain failed" ;;
    rekor-v2)
      # The first checkpoint is written within a checkpoint interval.
      for _ in $(seq 1 100); do [ -s "$d/storage/checkpoint" ] && break; sleep 0.1; done
      [ -s "$d/storage/checkpoint" ] || die "rekor-v2: no checkpoint in $d/storage" ;;
  esac
}

# The trust files in $STACK_DIR/trust, rebuilt from the running instance:
#   trusted_root.json                Fulcio, the CT log, the TSA, Rekor v1 and Rekor v2
#   signing_config.json              Fulcio, the OIDC issuer, Rekor v1 and v2 (ANY: clients
#                                    that speak v2 take it), the TSA
#   signing_config.rekor-v1.json     the same with Rekor v1 only
#   signing_config.rekor-v2.json     the same with Rekor v2 only
#   trust_config.json                trusted_root.json + signing_config.json as a ClientTrustConfig
sigstore_trust_files() {
  local t=$STACK_DIR/trust cosign
  cosign=$(tool cosign)
  mkdir -p "$t"
  local rekor1=$STACK_DIR/rekor rv2=$STACK_DIR/rekor-v2
  [ -s "$rekor1/pubkey.pem" ] || die "trust files: Rekor v1 has not started (no $rekor1/pubkey.pem)"
  log "writing the trust files in $t"
  "$cosign" trusted-root create \
    --fulcio="url=$SIGSTORE_FULCIO_URL,certificate-chain=$STACK_DIR/fulcio/ca/ca.pem,start-time=$(cat "$STACK_DIR/fulcio/ca/start-time")" \
    --ctfe="url=$SIGSTORE_CTLOG_URL,public-key=$STACK_DIR/ctlog/pubkey.pem,start-time=$(cat "$STACK_DIR/ctlog/start-time")" \
    --tsa="url=$SIGSTORE_TSA_URL,certificate-chain=$STACK_DIR/tsa/chain.pem,start-time=$(cat "$STACK_DIR/tsa/start-time")" \
    --rekor="url=http://$STACK_HOST:$PORT_REKOR,public-key=$rekor1/pubkey.pem,start-time=$(cat "$rekor1/start-time")" \
    --rekor="url=$SIGSTORE_REKOR_V2_URL,public-key=$rv2/pubkey.pem,start-time=$(cat "$rv2/start-time"),origin=$SIGSTORE_REKOR_V2_ORIGIN" \
    --out "$t/trusted_root.json.tmp" >>"$STACK_DIR/logs/tuf.log" 2>&1 \
    || die "cosign trusted-root create failed (log: $STACK_DIR/logs/tuf.log)"
  mv "$t/trusted_root.json.tmp" "$t/trusted_root.json"
  local since=2020-01-01T00:00:00Z op=$SIGSTORE_OPERATOR
  local common=(--fulcio="url=$SIGSTORE_FULCIO_URL,api-version=1,start-time=$since,operator=$op"
    --oidc-provider="url=$SIGSTORE_OIDC_URL,api-version=1,start-time=$since,operator=$op"
    --tsa="url=$SIGSTORE_TSA_URL,api-version=1,start-time=$since,operator=$op" --tsa-config=ANY
    --rekor-config=ANY)
  local v1="url=http://$STACK_HOST:$PORT_REKOR,api-version=1,start-time=$since,operator=$op"
  local v2="url=$SIGSTORE_REKOR_V2_URL,api-version=2,start-time=$since,operator=$op"
  local name rekors
  for name in signing_config signing_config.rekor-v1 signing_config.rekor-v2; do
    case $name in
      signing_config) rekors=(--rekor="$v1" --rekor="$v2") ;;
      *v1) rekors=(--rekor="$v1") ;;
      *v2) rekors=(--rekor="$v2") ;;
    esac
    "$cosign" signing-config create "${common[@]}" "${rekors[@]}" --out "$t/$name.json.tmp" \
      >>"$STACK_DIR/logs/tuf.log" 2>&1 || die "cosign signing-config create failed (log: $STACK_DIR/logs/tuf.log)"
    mv "$t/$name.json.tmp" "$t/$name.json"
  done
  jq -n --slurpfile tr "$t/trusted_root.json" --slurpfile sc "$t/signing_config.json" \
    '{mediaType: "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
      trustedRoot: $tr[0], signingConfig: $sc[0]}' > "$t/trust_config.json.tmp" \
    || die "writing the ClientTrustConfig failed"
  mv "$t/trust_config.json.tmp" "$t/trust_config.json"
}

# A TUF repository (tuftool) whose targets are trusted_root.json and signing_config.v0.2.json
# (the names Sigstore's TUF repositories use). The root key and root.json (version 1) are made
# once per run directory; targets, snapshot and timestamp are signed again at each start with
# the current time as their version, so they only move forward. Served with the metadata at
# the top of the URL and the targets under /targets, as Sigstore's TUF mirrors are.
sigstore_tuf_repo() {
  local d=$STACK_DIR/tuf tuftool
  tuftool=$(tool tuftool)
  mkdir -p "$d/keys"
  local tlog=$STACK_DIR/logs/tuf.log
  if [ ! -f "$d/root.json" ]; then
    log "creating the TUF root in $d"
    _sigstore_tuf_root "$tuftool" "$d" >>"$tlog" 2>&1 \
      || die "tuftool: creating the TUF root failed (log: $tlog)"
    mv "$d/root.json.tmp" "$d/root.json"
  fi
  rm -rf "$d/targets-in" "$d/repo.new"
  mkdir -p "$d/targets-in"
  cp "$STACK_DIR/trust/trusted_root.json" "$d/targets-in/trusted_root.json"
  cp "$STACK_DIR/trust/signing_config.json" "$d/targets-in/signing_config.v0.2.json"
  local version expires="in 52 weeks"
  version=$(date +%s)
  "$tuftool" create --root "$d/root.json" --key "$d/keys/root.pem" --add-targets "$d/targets-in" \
    --targets-expires "$expires" --targets-version "$version" \
    --snapshot-expires "$expires" --snapshot-version "$version" \
    --timestamp-expires "$expires" --timestamp-version "$version" \
    --outdir "$d/repo.new" >>"$tlog" 2>&1 || die "tuftool create failed (log: $tlog)"
  ln -s ../targets "$d/repo.new/metadata/targets"
  rm -rf "$d/repo"
  mv "$d/repo.new" "$d/repo"
}

# _sigstore_tuf_root TUFTOOL DIR : DIR/root.json.tmp, one key (DIR/keys/root.pem) for every role.
_sigstore_tuf_root() {
  local tuftool=$1 d=$2 role
  rm -f "$d/root.json.tmp" "$d/keys/root.pem"
  "$tuftool" root init "$d/root.json.tmp" || return 1
  "$tuftool" root expire "$d/root.json.tmp" "in 520 weeks" || return 1
  for role in root snapshot targets timestamp; do
    "$tuftool" root set-threshold "$d/root.json.tmp" "$role" 1 || return 1
  done
  # tuftool reads the RSA keys it makes (not every PKCS #8 EC key openssl writes).
  "$tuftool" root gen-rsa-key "$d/root.json.tmp" "$d/keys/root.pem" \
    --role root --role snapshot --role targets --role timestamp || return 1
  "$tuftool" root sign "$d/root.json.tmp" -k "$d/keys/root.pem"
}

sigstore_env() {
  local s=$STACK_DIR/state t=$STACK_DIR/trust
  if [ -f "$s/oidc" ]; then
    printf 'export HALLMARK_STACK_OIDC_ISSUER=%q\n' "$SIGSTORE_OIDC_URL"
    printf 'export HALLMARK_STACK_MINT_TOKEN=%q\n' "$HALLMARK_ROOT/tests/stack/mint-token"
  fi
  if [ -f "$s/ctlog" ]; then
    printf 'export HALLMARK_STACK_CTLOG_URL=%q\n' "$SIGSTORE_CTLOG_URL"
    printf 'export HALLMARK_STACK_CTLOG_PUBKEY=%q\n' "$STACK_DIR/ctlog/pubkey.pem"
    printf 'export HALLMARK_STACK_CTLOG_KEY=%q\n' "$STACK_DIR/ctlog/key.pem"
  fi
  if [ -f "$s/fulcio" ]; then
    printf 'export HALLMARK_STACK_FULCIO_URL=%q\n' "$SIGSTORE_FULCIO_URL"
    printf 'export HALLMARK_STACK_FULCIO_CA=%q\n' "$STACK_DIR/fulcio/ca/ca.pem"
    printf 'export HALLMARK_STACK_FULCIO_CA_KEY=%q\n' "$STACK_DIR/fulcio/ca/ca-key.pem"
  fi
  [ -f "$s/tsa" ] && printf 'export HALLMARK_STACK_TSA_URL=%q\n' "$SIGSTORE_TSA_URL"
  [ -f "$s/rekor-v2" ] && printf 'export HALLMARK_STACK_REKOR_V2_URL=%q\n' "$SIGSTORE_REKOR_V2_URL"
  [ -f "$s/rekor-v2-tiles" ] &&
    printf 'export HALLMARK_STACK_REKOR_V2_TILES_URL=%q\n' "$SIGSTORE_REKOR_V2_TILES_URL"
  if [ -f "$s/tuf" ] && [ -f "$t/trust_config.json" ]; then
    printf 'export HALLMARK_STACK_TUF_URL=%q\n' "$SIGSTORE_TUF_URL"
    printf 'export HALLMARK_STACK_TUF_ROOT=%q\n' "$STACK_DIR/tuf/root.json"
    # Printed after part 1's lines: this trusted root (the whole instance) replaces Rekor v1's.
    printf 'export HALLMARK_STACK_TRUSTED_ROOT=%q\n' "$t/trusted_root.json"
    printf 'export HALLMARK_STACK_SIGNING_CONFIG=%q\n' "$t/signing_config.json"
    printf 'export HALLMARK_STACK_TRUST_CONFIG=%q\n' "$t/trust_config.json"
  fi
  printf 'export HALLMARK_STACK_SIGSTORE_PYTHON=%q\n' "$(tool sigstore-python)"
}
