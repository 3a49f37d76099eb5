# shellcheck shell=bash
# shellcheck disable=SC2154 # $work, $digest, $COSIGN, ... come from tests/stack/smoke
# Part 3 of the smoke test (issue 6): the Kubernetes API with Tekton's CRDs and the
# controller-manager, service-account tokens as keyless identities (Fulcio), OpenBao transit
# through cosign's hashivault:// (token and JWT auth), and the Tekton Chains controller
# signing a TaskRun. Sourced by tests/stack/smoke with its helpers in scope. Needs every
# component up.
# Skipped (and said so) when none of part 3 was started; any part of it missing is a failure.
if [ -z "${HALLMARK_STACK_K8S_ISSUER:-}${HALLMARK_STACK_VAULT_KEY:-}${HALLMARK_STACK_CHAINS_PUBKEY:-}" ]; then
  echo "# part 3 (tests/stack/smoke.d/30-kube.sh) skipped: none of its components is up"
  return 0
fi
: "${KUBECONFIG:?kube-apiserver not up}" "${HALLMARK_STACK_K8S_ISSUER:?kube-apiserver not up}"
: "${HALLMARK_STACK_VAULT_KEY:?bao not up}" "${HALLMARK_STACK_CHAINS_PUBKEY:?chains not up}"
: "${HALLMARK_STACK_FULCIO_URL:?fulcio not up}" "${HALLMARK_STACK_SIGNING_CONFIG:?trust files not written}"

KUBECTL=$HALLMARK_STACK_KUBECTL BAO=$HALLMARK_STACK_BAO
MINT_SA=$HALLMARK_STACK_MINT_SA_TOKEN COMPLETE=$HALLMARK_STACK_COMPLETE_RUN
K8S_ISSUER=$HALLMARK_STACK_K8S_ISSUER
kc() { "$KUBECTL" "$@"; }
# wait_for SECONDS CMD... : polls CMD until it succeeds, for at most SECONDS.
wait_for() {
  local end=$((SECONDS + $1)); shift
  until "$@"; do [ "$SECONDS" -ge "$end" ] && return 1; sleep 0.5; done
}
kid="$(date +%s)-$RANDOM"
ns1="smoke-kube-$kid" ns2="smoke-identity-$kid"

### 13. kubectl, Tekton's CRDs, COMPLETE_RUN, and the controller-manager
check "kubectl creates namespace $ns1" kc create namespace "$ns1"
check "kubectl creates ServiceAccount $ns1/builder" kc create serviceaccount builder -n "$ns1"
check "the controller-manager creates the default ServiceAccount in $ns1" \
  wait_for 30 kc get serviceaccount default -n "$ns1"
refuse "a ServiceAccount nobody created exists" kc get serviceaccount nobody -n "$ns1"
run_yaml() { # run_yaml NAMESPACE KIND NAME [LABELS_JSON] : a TaskRun or PipelineRun (JSON)
  local spec labels=${4:-}
  [ -n "$labels" ] || labels='{}'
  if [ "$2" = PipelineRun ]; then
    spec='{"pipelineSpec": {"tasks": [{"name": "build", "taskSpec": {"steps": [{"name": "build",
      "image": "cgr.dev/chainguard/busybox", "script": "true"}]}}]}}'
  else
    spec='{"serviceAccountName": "builder", "taskSpec": {"results": [{"name": "COMMIT", "type": "string"}],
      "steps": [{"name": "build", "image": "cgr.dev/chainguard/busybox", "script": "true"}]}}'
  fi
  printf '{"apiVersion": "tekton.dev/v1", "kind": "%s", "metadata": {"name": "%s", "namespace": "%s",
    "labels": %s}, "spec": %s}\n' "$2" "$3" "$1" "$labels" "$spec"
}
create() { run_yaml "$@" | kc create -f -; }
create_pipeline() {
  create "$ns1" PipelineRun pipe-1 \
    && create "$ns1" TaskRun pipe-1-build '{"tekton.dev/pipelineRun": "pipe-1", "tekton.dev/pipelineTask": "build"}'
}
create_unknown_kind() { run_yaml "$ns1" TaskRun x | sed 's/"TaskRun"/"TaskRunX"/' | kc create -f -; }
check "kubectl creates a TaskRun (Tekton's CRD, v1)" create "$ns1" TaskRun build-1
check "kubectl creates a PipelineRun and its child TaskRun" create_pipeline
refuse "kubectl creates a kind that no CRD defines" create_unknown_kind
succeeded() { # succeeded KIND NAME : the run's Succeeded condition is True
  kc get "$1.tekton.dev" "$2" -n "$ns1" -o json \
    | jq -e '.status.conditions[]? | select(.type == "Succeeded" and .status == "True")' >/dev/null
}
refuse "the new TaskRun is already Succeeded" succeeded taskrun build-1
refuse "COMPLETE_RUN finishes a TaskRun that does not exist" "$COMPLETE" "$ns1" taskrun no-such-run
check "COMPLETE_RUN finishes the TaskRun with a result" "$COMPLETE" "$ns1" taskrun build-1 COMMIT=abc123
check "the TaskRun is Succeeded, with start and completion times and the result" bash -c \
  "'$KUBECTL' get taskrun.tekton.dev build-1 -n '$ns1' -o json | jq -e '.status
     | (.conditions[0].type == \"Succeeded\") and (.conditions[0].status == \"True\")
       and .startTime and .completionTime and .results == [{name: \"COMMIT\", type: \"string\", value: \"abc123\"}]'"
check "COMPLETE_RUN finishes the PipelineRun" "$COMPLETE" "$ns1" pipelinerun pipe-1 REVISION=abc123
check "the PipelineRun is Succeeded, with childReferences to its TaskRun" bash -c \
  "'$KUBECTL' get pipelinerun.tekton.dev pipe-1 -n '$ns1' -o json | jq -e '.status
     | (.conditions[0].status == \"True\") and .childReferences == [{apiVersion: \"tekton.dev/v1\",
       kind: \"TaskRun\", name: \"pipe-1-build\", pipelineTaskName: \"build\"}]'"
refuse "the PipelineRun's childReferences name build-1 (not its child)" bash -c \
  "'$KUBECTL' get pipelinerun.tekton.dev pipe-1 -n '$ns1' -o json | jq -e '.status.childReferences[] | select(.name == \"build-1\")'"
mkdir -p "$work/chart/templates"
printf 'apiVersion: v2\nname: smoke\nversion: 0.1.0\n' > "$work/chart/Chart.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}}\ndata: {msg: {{ .Values.msg | quote }}}\n' \
  > "$work/chart/templates/configmap.yaml"
helm_install() { # (helm's cache, config and data stay in $work)
  env HELM_CACHE_HOME="$work/helm/cache" HELM_CONFIG_HOME="$work/helm/config" HELM_DATA_HOME="$work/helm/data" \
    "$HALLMARK_STACK_HELM" install smoke "$work/chart" -n "$ns1" --set msg="$1"; }
check "helm installs a chart into $ns1" helm_install "hello-$kid"
check "the chart's ConfigMap holds the value" \
  test "$(kc get configmap smoke -n "$ns1" -o jsonpath='{.data.msg}')" = "hello-$kid"
refuse "helm installs the same release name twice" helm_install again
check "the TaskRun exists before its namespace is deleted" kc get taskrun.tekton.dev build-1 -n "$ns1"
check "kubectl deletes namespace $ns1 (waits for it to be finalized)" \
  kc delete namespace "$ns1" --wait=true --timeout=90s
refuse "namespace $ns1 still exists" kc get namespace "$ns1"
refuse "its TaskRun still exists" kc get taskrun.tekton.dev build-1 -n "$ns1"
refuse "its ServiceAccount still exists" kc get serviceaccount builder -n "$ns1"

### 14. A service-account token is a keyless identity: Fulcio (Type kubernetes), cosign v3
kc create namespace "$ns2" >/dev/null && kc create serviceaccount hallmark-signer -n "$ns2" >/dev/null \
  && kc create serviceaccount other -n "$ns2" >/dev/null || { echo "not ok - creating $ns2"; finish 1; }
sa_ident="https://kubernetes.io/namespaces/$ns2/serviceaccounts/hallmark-signer"
other_sa_ident="https://kubernetes.io/namespaces/$ns2/serviceaccounts/other"
check "MINT_SA_TOKEN mints a token for $ns2/hallmark-signer" "$MINT_SA" "$ns2" hallmark-signer
sa_token=$(cat "$work/out")
claims() { # the JWT's payload
  local p
  p=$(cut -d. -f2 <<<"$1" | tr '_-' '/+')
  while [ $((${#p} % 4)) -ne 0 ]; do p+="="; done
  base64 -d <<<"$p"
}
check "the token is issued by the API server, for audience sigstore" bash -c \
  "jq -e '.iss == \"$K8S_ISSUER\" and .aud == [\"sigstore\"] and .sub == \"system:serviceaccount:$ns2:hallmark-signer\"' <<<'$(claims "$sa_token")'"
refuse "MINT_SA_TOKEN mints a token for a ServiceAccount that does not exist" "$MINT_SA" "$ns2" nobody
check "the issuer's discovery and JWKS are readable without credentials" bash -c \
  "curl -fsS --cacert '$HALLMARK_STACK_K8S_CA' '$K8S_ISSUER/.well-known/openid-configuration' | jq -e '.issuer == \"$K8S_ISSUER\"' &&
   curl -fsS --cacert '$HALLMARK_STACK_K8S_CA' '$K8S_ISSUER/openid/v1/jwks' | jq -e '.keys | length > 0'"
refuse "the API itself is readable without credentials" \
  curl -fsS --cacert "$HALLMARK_STACK_K8S_CA" "$K8S_ISSUER/api/v1/namespaces"
reg=$HALLMARK_STACK_REGISTRY_REFERRERS
img_k8s="$reg/smoke/keyless-k8s@$digest"
"$CRANE" copy "$reg/smoke/img@$digest" "$reg/smoke/keyless-k8s:$tag" >/dev/null 2>&1 \
  || { echo "not ok - crane copy to smoke/keyless-k8s"; finish 1; }
cat > "$work/predicate-k8s.json" <<EOF
{"buildDefinition":{"buildType":"https://hallmark.test/smoke/v1","externalParameters":{"tag":"$tag"}},
 "runDetails":{"builder":{"id":"https://hallmark.test/smoke/kube"}}}
EOF
sa_attest() { # sa_attest TOKEN IMAGE
  "$COSIGN" attest --yes --identity-token "$1" --predicate "$work/predicate-k8s.json" \
    --type slsaprovenance1 --signing-config "$HALLMARK_STACK_SIGNING_CONFIG" \
    --trusted-root "$HALLMARK_STACK_TRUSTED_ROOT" "$2"
}
sa_verify() { # sa_verify IDENTITY ISSUER
  "$COSIGN" verify-attestation --type slsaprovenance1 --trusted-root "$HALLMARK_STACK_TRUSTED_ROOT" \
    --certificate-identity "$1" --certificate-oidc-issuer "$2" "$img_k8s"
}
refuse "Fulcio issues a certificate for a service-account token of another audience" \
  sa_attest "$("$MINT_SA" "$ns2" hallmark-signer not-sigstore)" "$img_k8s"
check "cosign v3 attests $img_k8s keylessly with the service-account token (Fulcio)" \
  sa_attest "$sa_token" "$img_k8s"
check "cosign v3 verify-attestation passes for $sa_ident, issuer $K8S_ISSUER" \
  sa_verify "$sa_ident" "$K8S_ISSUER"
refuse "cosign v3 verify-attestation for another ServiceAccount ($other_sa_ident)" \
  sa_verify "$other_sa_ident" "$K8S_ISSUER"
refuse "cosign v3 verify-attestation for the same identity from another issuer" \
  sa_verify "$sa_ident" "${HALLMARK_STACK_OIDC_ISSUER:-https://issuer.invalid}"

### 15. cosign signs through OpenBao transit (hashivault://): token auth and service-account JWT auth
"$COSIGN" signing-config create \
  --rekor="url=$REKOR,api-version=1,start-time=2020-01-01T00:00:00Z,operator=hallmark-stack" \
  --rekor-config=ANY --out "$work/signing_config.kms.json" >/dev/null 2>&1 \
  || { echo "not ok - signing-config create"; finish 1; }
head -c 512 /dev/urandom > "$work/kms-blob"
VKEY=$HALLMARK_STACK_VAULT_KEY
kms_sign() { # kms_sign KEY BUNDLE VAULT_TOKEN
  env VAULT_TOKEN="$3" "$COSIGN" sign-blob --yes --key "hashivault://$1" --bundle "$2" \
    --signing-config "$work/signing_config.kms.json" --trusted-root "$HALLMARK_STACK_TRUSTED_ROOT" \
    "$work/kms-blob"
}
kms_verify() { # kms_verify KEY BUNDLE
  "$COSIGN" verify-blob --key "$1" --bundle "$2" --trusted-root "$HALLMARK_STACK_TRUSTED_ROOT" "$work/kms-blob"
}
check "cosign sign-blob --key hashivault://$VKEY (token auth), logging to Rekor v1" \
  kms_sign "$VKEY" "$work/kms-token.json" "$VAULT_TOKEN"
check "cosign verify-blob --key hashivault://$VKEY passes" kms_verify "hashivault://$VKEY" "$work/kms-token.json"
check "cosign public-key exports the transit key" \
  bash -c "'$COSIGN' public-key --key 'hashivault://$VKEY' > '$work/kms.pub'"
check "cosign verify-blob with the exported public key passes" kms_verify "$work/kms.pub" "$work/kms-token.json"
refuse "cosign verify-blob with another key" kms_verify "$work/other.pub" "$work/kms-token.json"
refuse "cosign signs with the aes256-gcm96 transit key ($HALLMARK_STACK_VAULT_AES_KEY)" \
  kms_sign "$HALLMARK_STACK_VAULT_AES_KEY" "$work/kms-aes.json" "$VAULT_TOKEN"
transit_sign() { "$BAO" write -field=signature "transit/sign/$1" input="$(base64 -w0 "$work/kms-blob")"; }
check "OpenBao transit signs with $VKEY (ecdsa-p256)" transit_sign "$VKEY"
refuse "OpenBao transit signs with $HALLMARK_STACK_VAULT_AES_KEY" transit_sign "$HALLMARK_STACK_VAULT_AES_KEY"
refused_for_key_type() {
  ! transit_sign "$HALLMARK_STACK_VAULT_AES_KEY" >"$work/aes.out" 2>&1 \
    && grep -q 'aes256-gcm96 does not support signing' "$work/aes.out"
}
check "and the reason is the key type (aes256-gcm96 does not support signing)" refused_for_key_type
refuse "cosign signs through OpenBao with a made-up token" \
  kms_sign "$VKEY" "$work/kms-bogus.json" "s.not-a-real-token"
jwt_login() { # jwt_login TOKEN : prints an OpenBao token
  env -u VAULT_TOKEN "$BAO" write -field=token auth/jwt/login role="$HALLMARK_STACK_VAULT_JWT_ROLE" jwt="$1"
}
aud=$HALLMARK_STACK_VAULT_JWT_AUDIENCE
check "OpenBao's JWT auth accepts $ns2/hallmark-signer's token (audience $aud)" \
  jwt_login "$("$MINT_SA" "$ns2" hallmark-signer "$aud")"
sa_vault_token=$(cat "$work/out")
refuse "OpenBao's JWT auth accepts another ServiceAccount's token ($ns2/other)" \
  jwt_login "$("$MINT_SA" "$ns2" other "$aud")"
refuse "OpenBao's JWT auth accepts hallmark-signer's token for audience sigstore" jwt_login "$sa_token"
check "cosign sign-blob --key hashivault://$VKEY with the token from JWT auth" \
  kms_sign "$VKEY" "$work/kms-jwt.json" "$sa_vault_token"
check "cosign verify-blob passes on it" kms_verify "$work/kms.pub" "$work/kms-jwt.json"
refuse "the JWT-auth token signs with the aes256 key (its policy allows only $VKEY)" \
  kms_sign "$HALLMARK_STACK_VAULT_AES_KEY" "$work/kms-jwt-aes.json" "$sa_vault_token"

### 16. Tekton Chains signs a TaskRun (tests/stack/chains-sample)
check "tests/stack/chains-sample makes Chains sign a TaskRun" "$HALLMARK_STACK_CHAINS_SAMPLE" "smoke-chains-$kid"
sample=$(cat "$work/out")
cs_ns=$(jq -r .namespace <<<"$sample") cs_tr=$(jq -r .taskrun <<<"$sample") cs_img=$(jq -r .image <<<"$sample")
signed_of() { kc get taskrun.tekton.dev "$1" -n "$cs_ns" -o jsonpath='{.metadata.annotations.chains\.tekton\.dev/signed}'; }
check "the TaskRun $cs_ns/$cs_tr carries chains.tekton.dev/signed=true" test "$(signed_of "$cs_tr")" = true
# A TaskRun that never finishes: Chains leaves it alone.
create "$cs_ns" TaskRun unfinished >/dev/null 2>&1 \
  || { echo "not ok - creating an unfinished TaskRun"; finish 1; }
sleep 3
refuse "Chains signs a TaskRun that has not finished" test "$(signed_of unfinished)" = true
# Chains v0.22 writes the legacy .att without a Rekor bundle: cosign looks the entry up in Rekor.
chains_verify() { # chains_verify KEY IMAGE [TRUSTED_ROOT]
  "$COSIGN" verify-attestation --key "$1" --type slsaprovenance --rekor-url "$REKOR" \
    --trusted-root "${3:-$HALLMARK_STACK_TRUSTED_ROOT}" "$2"
}
chains_verify_v2() {
  env SIGSTORE_REKOR_PUBLIC_KEY="$HALLMARK_STACK_REKOR_PUBKEY" "$COSIGN2" verify-attestation --key "$1" \
    --type slsaprovenance --rekor-url "$REKOR" "$2"
}
check "cosign v3 verify-attestation --key accepts the attestation Chains pushed for $cs_img" \
  chains_verify "$HALLMARK_STACK_CHAINS_PUBKEY" "$cs_img"
check "its statement (SLSA v0.2) has the image as its subject" bash -c \
  "grep '^{' '$work/out' | head -1 | jq -r .payload | base64 -d | jq -e '.subject[0].digest.sha256 == \"${cs_img##*:}\" and .predicateType == \"https://slsa.dev/provenance/v0.2\"'"
refuse "cosign v3 verify-attestation with another key" chains_verify "$work/other.pub" "$cs_img"
refuse "cosign v3 verify-attestation with Chains' key on an image Chains never signed" \
  chains_verify "$HALLMARK_STACK_CHAINS_PUBKEY" "$HALLMARK_STACK_REGISTRY/smoke/img@$digest"
jq 'del(.tlogs)' "$HALLMARK_STACK_TRUSTED_ROOT" > "$work/trusted_root.no-tlogs.json"
refuse "cosign v3 verify-attestation with a trusted root without Rekor (Chains' entry is required)" \
  chains_verify "$HALLMARK_STACK_CHAINS_PUBKEY" "$cs_img" "$work/trusted_root.no-tlogs.json"
check "cosign v2 verify-attestation --key accepts it too" chains_verify_v2 "$HALLMARK_STACK_CHAINS_PUBKEY" "$cs_img"
refuse "cosign v2 verify-attestation with another key" chains_verify_v2 "$work/other.pub" "$cs_img"
check "Chains logged the attestation in the stack's Rekor (the run's transparency annotation)" bash -c \
  "'$KUBECTL' get taskrun.tekton.dev '$cs_tr' -n '$cs_ns' -o json | jq -e '.metadata.annotations[\"chains.tekton.dev/transparency\"] | startswith(\"$REKOR/\")'"
kc delete namespace "$ns2" "$cs_ns" --wait=false >/dev/null 2>&1 || true
