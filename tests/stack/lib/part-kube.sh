# shellcheck shell=bash
# shellcheck disable=SC2034 # COMPONENT_PART and CMD are set for stack.sh, which sources this file
# Part 3 of the local stack (kube): a real Kubernetes API (etcd, kube-apiserver,
# kube-controller-manager) with Tekton's CRDs, OpenBao in dev mode with transit and JWT auth,
# and the Tekton Chains controller running out of cluster against that API server.
# Sourced by stack.sh, which calls kube_STEP C for the components listed here.
#
#   etcd                     127.0.0.1:18479 (clients), 18480 (peers)
#   kube-apiserver           https://127.0.0.1:18443, RBAC on, its service-account issuer is
#                            https://127.0.0.1:18443 (discovery readable without authentication)
#   kube-controller-manager  https://127.0.0.1:18457 (healthz only)
#   bao                      http://127.0.0.1:18420 (cluster port 18421), root token "root"
#   chains                   metrics 127.0.0.1:18490, profiling 127.0.0.1:18491
#
# Files (under $STACK_DIR):
#   kube-apiserver/pki/      the cluster CA, serving and admin certificates, the SA signing key
#   kube-apiserver/admin.kubeconfig   the admin kubeconfig (exported as KUBECONFIG)
#   chains/signing-secrets/  Chains' cosign key (cosign.key, cosign.password, cosign.pub), also
#                            in the Secret tekton-chains/signing-secrets

PORT_ETCD=18479
PORT_ETCD_PEER=18480
PORT_KUBE_APISERVER=18443
PORT_KUBE_CONTROLLER_MANAGER=18457
PORT_BAO=18420
PORT_CHAINS_METRICS=18490
PORT_CHAINS_PROFILING=18491

KUBE_ISSUER=https://$STACK_HOST:$PORT_KUBE_APISERVER
# OpenBao: the transit keys, and the JWT role that service-account tokens log in with.
BAO_KEY=hallmark
BAO_AES_KEY=hallmark-aes
BAO_JWT_ROLE=hallmark-signer
BAO_JWT_AUDIENCE=openbao
CHAINS_NAMESPACE=tekton-chains

COMPONENTS+=(etcd kube-apiserver kube-controller-manager bao chains)
for _c in etcd kube-apiserver kube-controller-manager bao chains; do COMPONENT_PART[$_c]=kube; done
unset _c
STACK_PARTS+=(kube)

kube_pki() { echo "$STACK_DIR/kube-apiserver/pki"; }
kube_kubeconfig() { echo "$STACK_DIR/kube-apiserver/admin.kubeconfig"; }
kubectl_admin() { "$(tool kubectl)" --kubeconfig "$(kube_kubeconfig)" "$@"; }

kube_deps() {
  case $1 in
    kube-apiserver) echo etcd ;;
    kube-controller-manager) echo kube-apiserver ;;
    bao) echo kube-apiserver ;;
    chains) echo kube-apiserver kube-controller-manager registry rekor ;;
  esac
}

kube_install() {
  case $1 in
    etcd | kube-controller-manager) tool "$1" >/dev/null ;;
    # The clients of the API server come with it: kubectl, and helm (for the chart).
    kube-apiserver) tool "$1" >/dev/null; tool kubectl >/dev/null; tool helm >/dev/null ;;
    bao) tool bao >/dev/null ;;
    chains)
      ensure_apt unshare util-linux
      tool chains-controller >/dev/null; tool cosign >/dev/null ;;
  esac
}

# kubectl, helm, bao and the Chains controller come with their components (kube_install), so that
# `up` of other parts never builds the Kubernetes binaries.
kube_install_peers() { :; }

# _kube_cert NAME SUBJECT EXT : a P-256 certificate signed by the cluster CA (made if missing).
_kube_cert() {
  local p name=$1 subj=$2 ext=$3
  p=$(kube_pki)
  [ -f "$p/$name.pem" ] && return 0
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subj" \
    -keyout "$p/$name-key.pem" -out "$p/$name.csr" 2>/dev/null || die "openssl: $name key"
  printf '%s\n' "$ext" > "$p/$name.ext"
  openssl x509 -req -in "$p/$name.csr" -CA "$p/ca.pem" -CAkey "$p/ca-key.pem" -CAcreateserial \
    -days 3650 -extfile "$p/$name.ext" -out "$p/$name.pem" 2>/dev/null || die "openssl: $name certificate"
}

kube_make_pki() {
  local p
  p=$(kube_pki)
  mkdir -p "$p"
  if [ ! -f "$p/ca.pem" ]; then
    log "creating the cluster CA, certificates and service-account key in $p"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
      -subj "/CN=hallmark test stack kubernetes CA" -keyout "$p/ca-key.pem" -out "$p/ca.pem" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      2>/dev/null || die "openssl: cluster CA"
  fi
  _kube_cert apiserver "/CN=kube-apiserver" \
    "$(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE')"
  _kube_cert admin "/O=system:masters/CN=hallmark-admin" \
    "$(printf 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE')"
  if [ ! -f "$p/sa.key" ]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$p/sa.key" 2>/dev/null \
      && openssl pkey -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null || die "openssl: service-account key"
  fi
  local kc
  kc=$(kube_kubeconfig)
  if [ ! -f "$kc" ]; then
    cat > "$kc.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: hallmark
  cluster:
    server: $KUBE_ISSUER
    certificate-authority-data: $(base64 -w0 < "$p/ca.pem")
users:
- name: hallmark-admin
  user:
    client-certificate-data: $(base64 -w0 < "$p/admin.pem")
    client-key-data: $(base64 -w0 < "$p/admin-key.pem")
contexts:
- name: hallmark
  context: {cluster: hallmark, user: hallmark-admin}
current-context: hallmark
EOF
    chmod 600 "$kc.tmp" && mv "$kc.tmp" "$kc"
  fi
}

# Chains' signing key: a cosign key pair with a random password.
kube_chains_key() {
  local d=$STACK_DIR/chains/signing-secrets
  [ -f "$d/cosign.key" ] && return 0
  mkdir -p "$d"
  openssl rand -hex 16 | tr -d '\n' > "$d/cosign.password"
  (cd "$d" && COSIGN_PASSWORD=$(cat cosign.password) "$(tool cosign)" generate-key-pair \
    --output-key-prefix cosign >/dev/null 2>&1) || die "cosign generate-key-pair for Chains failed"
  chmod 600 "$d/cosign.key" "$d/cosign.password"
}

kube_prepare() {
  local c=$1 d=$STACK_DIR/$1
  case $c in
    etcd) mkdir -p "$d/data" ;;
    kube-apiserver | kube-controller-manager) kube_make_pki ;;
    bao) mkdir -p "$d" ;;
    chains)
      kube_chains_key
      # Chains reads its key from the fixed path /etc/signing-secrets (a mounted Secret in a
      # cluster). Out of cluster, the controller runs in a private mount namespace where a
      # read-only overlay adds this directory's signing-secrets/ to the real /etc (nothing on
      # the host changes).
      mkdir -p "$d/etc-overlay"
      rm -rf "$d/etc-overlay/signing-secrets"
      cp -r "$d/signing-secrets" "$d/etc-overlay/signing-secrets"
      kube_chains_configure ;;
  esac
}

kube_cmd() {
  local c=$1 d=$STACK_DIR/$1 p
  p=$(kube_pki)
  case $c in
    etcd)
      CMD=("$(tool etcd)" --name=hallmark --data-dir="$d/data"
        --listen-client-urls="http://$STACK_HOST:$PORT_ETCD" --advertise-client-urls="http://$STACK_HOST:$PORT_ETCD"
        --listen-peer-urls="http://$STACK_HOST:$PORT_ETCD_PEER"
        --initial-advertise-peer-urls="http://$STACK_HOST:$PORT_ETCD_PEER"
        --initial-cluster="hallmark=http://$STACK_HOST:$PORT_ETCD_PEER"
        --unsafe-no-fsync --log-level=warn) ;;
    kube-apiserver)
      CMD=("$(tool kube-apiserver)" --etcd-servers="http://$STACK_HOST:$PORT_ETCD"
        --bind-address="$STACK_HOST" --advertise-address="$STACK_HOST" --secure-port="$PORT_KUBE_APISERVER"
        --tls-cert-file="$p/apiserver.pem" --tls-private-key-file="$p/apiserver-key.pem"
        --client-ca-file="$p/ca.pem" --authorization-mode=RBAC --anonymous-auth=true
        --service-account-issuer="$KUBE_ISSUER"
        --service-account-jwks-uri="$KUBE_ISSUER/openid/v1/jwks"
        --service-account-key-file="$p/sa.pub" --service-account-signing-key-file="$p/sa.key"
        --service-cluster-ip-range=10.96.0.0/24 --enable-priority-and-fairness=false
        --profiling=false --cert-dir="$d/cert-dir" --v=1) ;;
    kube-controller-manager)
      CMD=("$(tool kube-controller-manager)" --kubeconfig="$(kube_kubeconfig)"
        --authentication-kubeconfig="$(kube_kubeconfig)" --authorization-kubeconfig="$(kube_kubeconfig)"
        --bind-address="$STACK_HOST" --secure-port="$PORT_KUBE_CONTROLLER_MANAGER"
        --tls-cert-file="$p/apiserver.pem" --tls-private-key-file="$p/apiserver-key.pem"
        --service-account-private-key-file="$p/sa.key" --root-ca-file="$p/ca.pem"
        --cluster-signing-cert-file="$p/ca.pem" --cluster-signing-key-file="$p/ca-key.pem"
        --leader-elect=false --use-service-account-credentials=false --profiling=false --v=1) ;;
    bao)
      CMD=(env -u VAULT_ADDR -u VAULT_TOKEN "$(tool bao)" server -dev -dev-root-token-id=root
        -dev-listen-address="$STACK_HOST:$PORT_BAO" -dev-no-store-token) ;;
    chains)
      # exec keeps the PID: unshare and sh both exec, so the recorded PID is the controller's.
      # Not root: a user namespace (mapped to root) makes the mount namespace and overlay.
      local ns=(--mount --propagation private)
      [ "$(id -u)" = 0 ] || ns=(--user --map-root-user "${ns[@]}")
      CMD=(env SYSTEM_NAMESPACE="$CHAINS_NAMESPACE" METRICS_DOMAIN=tekton.dev/chains
        CONFIG_LOGGING_NAME=config-logging
        CONFIG_OBSERVABILITY_NAME=tekton-chains-config-observability
        CONFIG_LEADERELECTION_NAME=tekton-chains-config-leader-election
        METRICS_PROMETHEUS_HOST="$STACK_HOST" METRICS_PROMETHEUS_PORT="$PORT_CHAINS_METRICS"
        PROFILING_PORT="$PORT_CHAINS_PROFILING"
        KUBECONFIG="$(kube_kubeconfig)"
        unshare "${ns[@]}" sh -c \
        'mount -t overlay overlay -o "lowerdir=$1:/etc" /etc && shift && exec "$@"' chains \
        "$d/etc-overlay" "$(tool chains-controller)" --kubeconfig="$(kube_kubeconfig)") ;;
  esac
}

kube_healthy() {
  local p
  p=$(kube_pki)
  case $1 in
    etcd) curl -fsS -m 3 "http://$STACK_HOST:$PORT_ETCD/health" 2>/dev/null | grep -q '"health":"true"' ;;
    kube-apiserver) [ "$(http_code --cacert "$p/ca.pem" "$KUBE_ISSUER/readyz")" = 200 ] ;;
    kube-controller-manager)
      [ "$(http_code --cacert "$p/ca.pem" "https://$STACK_HOST:$PORT_KUBE_CONTROLLER_MANAGER/healthz")" = 200 ] ;;
    bao) [ "$(http_code "http://$STACK_HOST:$PORT_BAO/v1/sys/health")" = 200 ] ;;
    # The profiling server answers (404 while profiling is off) once sharedmain has started.
    chains) local code; code=$(http_code "http://$STACK_HOST:$PORT_CHAINS_PROFILING/debug/pprof/")
      [ -n "$code" ] && [ "$code" != 000 ] ;;
  esac
}

# Tekton's CRDs without their conversion webhook (there is no Tekton webhook here).
kube_apply_crds() {
  local f crds=$HALLMARK_ROOT/../shared/fixtures/tekton-crds
  [ -n "${HALLMARK_SHARED_DIR:-}" ] && crds=$HALLMARK_SHARED_DIR/fixtures/tekton-crds
  [ -d "$crds" ] || die "Tekton CRDs not found at $crds"
  for f in "$crds"/300-{task,taskrun,pipeline,pipelinerun}.yaml; do
    kubectl_admin create --dry-run=client -o json -f "$f" | jq 'del(.spec.conversion)' \
      | kubectl_admin apply --server-side --force-conflicts -f - >/dev/null \
      || die "applying $f failed"
  done
  kubectl_admin wait --for condition=established --timeout=60s \
    crd/tasks.tekton.dev crd/taskruns.tekton.dev crd/pipelines.tekton.dev crd/pipelineruns.tekton.dev \
    >/dev/null || die "Tekton CRDs not established in 60 s"
}

kube_after() {
  case $1 in
    kube-apiserver)
      # Fulcio, OpenBao and anyone else read the issuer's discovery without credentials.
      kubectl_admin apply -f - >/dev/null <<EOF || die "binding service-account-issuer-discovery failed"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: hallmark-service-account-issuer-discovery}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:service-account-issuer-discovery}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:unauthenticated}
EOF
      kube_apply_crds ;;
    kube-controller-manager)
      # The controllers work once the default ServiceAccount appears in "default".
      local i
      for i in $(seq 1 120); do
        kubectl_admin get serviceaccount default -n default >/dev/null 2>&1 && return 0
        [ "$i" = 120 ] && die "kube-controller-manager: no default ServiceAccount after 60 s"
        sleep 0.5
      done ;;
    bao) kube_bao_setup ;;
    chains)
      # Started once it holds its leases (knative leader election, in tekton-chains).
      local i
      for i in $(seq 1 120); do
        kubectl_admin get lease -n "$CHAINS_NAMESPACE" -o json 2>/dev/null \
          | jq -e '[.items[] | select(.spec.holderIdentity // "" != "")] | length > 0' >/dev/null && return 0
        [ "$i" = 120 ] && die "chains: no lease held after 60 s (log: $STACK_DIR/logs/chains.log)"
        sleep 0.5
      done ;;
  esac
}

# The tekton-chains namespace, its chains-config ConfigMap and signing-secrets Secret.
kube_chains_configure() {
  local d=$STACK_DIR/chains
  kubectl_admin create namespace "$CHAINS_NAMESPACE" --dry-run=client -o yaml | kubectl_admin apply -f - >/dev/null
  kubectl_admin -n "$CHAINS_NAMESPACE" create secret generic signing-secrets \
    --from-file="$d/signing-secrets/cosign.key" --from-file="$d/signing-secrets/cosign.password" \
    --from-file="$d/signing-secrets/cosign.pub" --dry-run=client -o yaml | kubectl_admin apply -f - >/dev/null
  kubectl_admin apply -f - >/dev/null <<EOF || die "writing chains-config failed"
apiVersion: v1
kind: ConfigMap
metadata: {name: chains-config, namespace: $CHAINS_NAMESPACE}
data:
  artifacts.taskrun.format: in-toto
  artifacts.taskrun.storage: oci
  artifacts.taskrun.signer: x509
  artifacts.oci.format: simplesigning
  artifacts.oci.storage: oci
  artifacts.oci.signer: x509
  artifacts.pipelinerun.format: in-toto
  artifacts.pipelinerun.storage: oci
  artifacts.pipelinerun.signer: x509
  storage.oci.repository.insecure: "true"
  transparency.enabled: "true"
  transparency.url: http://$STACK_HOST:$PORT_REKOR
---
apiVersion: v1
kind: ConfigMap
metadata: {name: tekton-chains-config-observability, namespace: $CHAINS_NAMESPACE}
data:
  metrics.backend-destination: prometheus
EOF
}

kube_bao_setup() {
  local b
  b=$(tool bao)
  bao_root() { env VAULT_ADDR="http://$STACK_HOST:$PORT_BAO" VAULT_TOKEN=root "$b" "$@"; }
  {
    bao_root secrets enable transit
    bao_root write -f "transit/keys/$BAO_KEY" type=ecdsa-p256
    bao_root write -f "transit/keys/$BAO_AES_KEY" type=aes256-gcm96
    bao_root policy write hallmark-transit - <<EOF
path "transit/keys/$BAO_KEY" { capabilities = ["read"] }
path "transit/sign/$BAO_KEY" { capabilities = ["update"] }
path "transit/sign/$BAO_KEY/*" { capabilities = ["update"] }
path "transit/verify/$BAO_KEY" { capabilities = ["update"] }
path "transit/verify/$BAO_KEY/*" { capabilities = ["update"] }
EOF
    bao_root auth enable jwt
    bao_root write auth/jwt/config oidc_discovery_url="$KUBE_ISSUER" \
      oidc_discovery_ca_pem=@"$(kube_pki)/ca.pem" bound_issuer="$KUBE_ISSUER"
    # Any namespace's ServiceAccount named $BAO_JWT_ROLE, with a token for audience openbao.
    bao_root write "auth/jwt/role/$BAO_JWT_ROLE" - <<EOF
{"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["$BAO_JWT_AUDIENCE"],
 "bound_claims_type": "glob",
 "bound_claims": {"sub": "system:serviceaccount:*:$BAO_JWT_ROLE"},
 "token_policies": ["hallmark-transit"], "token_ttl": "10m"}
EOF
  } >>"$STACK_DIR/logs/bao.log" 2>&1 || die "configuring OpenBao failed (log: $STACK_DIR/logs/bao.log)"
}

# Fulcio (part 2, part-sigstore.sh) trusts the API server's issuer (Type kubernetes, with the
# cluster CA), so a service-account token yields the identity
# https://kubernetes.io/namespaces/NS/serviceaccounts/SA. Fulcio's prepare step writes its
# config.json; this adds the issuer to it right after, whenever the cluster exists (it is
# started first: part-kube.sh sorts before part-sigstore.sh). It wraps part_hook (stack.sh)
# for that one step, so that part-sigstore.sh stays as it is.
kube_fulcio_issuer() {
  local f=$STACK_DIR/fulcio/config.json ca
  ca=$(kube_pki)/ca.pem
  [ -f "$STACK_DIR/state/kube-apiserver" ] && [ -f "$ca" ] && [ -f "$f" ] || return 0
  jq --arg iss "$KUBE_ISSUER" --rawfile ca "$ca" \
    '.OIDCIssuers[$iss] = {IssuerURL: $iss, ClientID: "sigstore", Type: "kubernetes", CACert: $ca}' \
    "$f" > "$f.tmp" && mv "$f.tmp" "$f" || die "adding the Kubernetes issuer to $f failed"
}
eval "_kube_part_hook() $(declare -f part_hook | tail -n +2)"
part_hook() {
  if [ "$1" = prepare ] && [ "$2" = fulcio ]; then
    _kube_part_hook "$@"
    kube_fulcio_issuer
    return 0
  fi
  _kube_part_hook "$@"
}

kube_env() {
  local s=$STACK_DIR/state
  if [ -f "$s/kube-apiserver" ]; then
    printf 'export KUBECONFIG=%q\n' "$(kube_kubeconfig)"
    printf 'export HALLMARK_STACK_K8S_ISSUER=%q\n' "$KUBE_ISSUER"
    printf 'export HALLMARK_STACK_K8S_CA=%q\n' "$(kube_pki)/ca.pem"
    printf 'export HALLMARK_STACK_MINT_SA_TOKEN=%q\n' "$HALLMARK_ROOT/tests/stack/mint-sa-token"
    printf 'export HALLMARK_STACK_COMPLETE_RUN=%q\n' "$HALLMARK_ROOT/tests/stack/complete-run"
    printf 'export HALLMARK_STACK_KUBECTL=%q\n' "$(tool kubectl)"
    printf 'export HALLMARK_STACK_HELM=%q\n' "$(tool helm)"
  fi
  if [ -f "$s/bao" ]; then
    printf 'export VAULT_ADDR=%q\n' "http://$STACK_HOST:$PORT_BAO"
    printf 'export VAULT_TOKEN=%q\n' root
    printf 'export HALLMARK_STACK_VAULT_KEY=%q\n' "$BAO_KEY"
    printf 'export HALLMARK_STACK_VAULT_AES_KEY=%q\n' "$BAO_AES_KEY"
    printf 'export HALLMARK_STACK_VAULT_JWT_ROLE=%q\n' "$BAO_JWT_ROLE"
    printf 'export HALLMARK_STACK_VAULT_JWT_AUDIENCE=%q\n' "$BAO_JWT_AUDIENCE"
    printf 'export HALLMARK_STACK_BAO=%q\n' "$(tool bao)"
  fi
  if [ -f "$s/chains" ]; then
    printf 'export HALLMARK_STACK_CHAINS_PUBKEY=%q\n' "$STACK_DIR/chains/signing-secrets/cosign.pub"
    printf 'export HALLMARK_STACK_CHAINS_SAMPLE=%q\n' "$HALLMARK_ROOT/tests/stack/chains-sample"
    printf 'export HALLMARK_STACK_CHAINS_CONTROLLER=%q\n' "$(tool chains-controller)"
  fi
}
