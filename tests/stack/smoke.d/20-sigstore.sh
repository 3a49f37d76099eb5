# shellcheck shell=bash
# shellcheck disable=SC2154 # $work, $digest, $COSIGN, ... come from tests/stack/smoke
# Part 2 of the smoke test (issue 5): keyless signing with the static OIDC issuer, Fulcio and
# the CT log; Rekor v1 and v2; the TSA; sigstore-python with the ClientTrustConfig; the TUF
# repository. Sourced by tests/stack/smoke with its helpers in scope (check, refuse, finish,
# $work, $digest, $COSIGN, $CRANE, $REKOR, rekor_cli, ...). Needs every component up.
# Skipped (and said so) when none of part 2 was started, e.g. after `up registry ... rekor`;
# any part of it missing is a failure.
if [ -z "${HALLMARK_STACK_FULCIO_URL:-}${HALLMARK_STACK_REKOR_V2_URL:-}${HALLMARK_STACK_TUF_URL:-}${HALLMARK_STACK_OIDC_ISSUER:-}" ]; then
  echo "# part 2 (tests/stack/smoke.d/20-sigstore.sh) skipped: none of its components is up"
  return 0
fi
: "${HALLMARK_STACK_FULCIO_URL:?fulcio not up}" "${HALLMARK_STACK_REKOR_V2_URL:?rekor-v2 not up}"
: "${HALLMARK_STACK_TSA_URL:?tsa not up}" "${HALLMARK_STACK_TUF_URL:?tuf not up}"
: "${HALLMARK_STACK_TRUST_CONFIG:?trust files not written}" "${HALLMARK_STACK_MINT_TOKEN:?oidc not up}"

ISSUER=$HALLMARK_STACK_OIDC_ISSUER TR=$HALLMARK_STACK_TRUSTED_ROOT
SIGSTORE_PY=$HALLMARK_STACK_SIGSTORE_PYTHON
# Rekor's search index lowercases SANs: keep the identity lowercase.
ident="smoke-$(date +%s)-$RANDOM@hallmark.test"
other_ident="someone-else@hallmark.test"
token=$("$HALLMARK_STACK_MINT_TOKEN" "$ident") || { echo "not ok - minting a token"; finish 1; }

# The same image in repositories of their own, so each holds only this step's attestations.
reg=$HALLMARK_STACK_REGISTRY_REFERRERS
img_v1="$reg/smoke/keyless-v1@$digest" img_v2="$reg/smoke/keyless-v2@$digest"
"$CRANE" copy "$reg/smoke/img@$digest" "$reg/smoke/keyless-v1:$tag" >/dev/null 2>&1 \
  && "$CRANE" copy "$reg/smoke/img@$digest" "$reg/smoke/keyless-v2:$tag" >/dev/null 2>&1 \
  || { echo "not ok - crane copy to the keyless repositories"; finish 1; }

# A signing config per Rekor: the exported one lists both (cosign takes v2, the newest).
since=2020-01-01T00:00:00Z
service() { echo "url=$1,api-version=$2,start-time=$since,operator=hallmark-smoke"; }
"$COSIGN" signing-config create --fulcio="$(service "$HALLMARK_STACK_FULCIO_URL" 1)" \
  --oidc-provider="$(service "$ISSUER" 1)" --rekor="$(service "$REKOR" 1)" --rekor-config=ANY \
  --out "$work/signing_config.v1.json" >/dev/null 2>&1 || { echo "not ok - signing-config create"; finish 1; }

# SLSA v1 (in-toto Statement v1): sigstore-python 4.5.1 refuses Statement v0.1 (SLSA v0.2).
cat > "$work/predicate-v1.json" <<EOF
{"buildDefinition":{"buildType":"https://hallmark.test/smoke/v1","externalParameters":{"tag":"$tag"}},
 "runDetails":{"builder":{"id":"https://hallmark.test/smoke"}}}
EOF
keyless_attest() { # keyless_attest SIGNING_CONFIG IMAGE
  "$COSIGN" attest --yes --identity-token "$token" --predicate "$work/predicate-v1.json" \
    --type slsaprovenance1 --signing-config "$1" --trusted-root "$TR" "$2"
}
keyless_verify() { # keyless_verify IDENTITY IMAGE [TRUSTED_ROOT]
  "$COSIGN" verify-attestation --type slsaprovenance1 --trusted-root "${3:-$TR}" \
    --certificate-identity "$1" --certificate-oidc-issuer "$ISSUER" "$2"
}
# bundle_of REPOSITORY : the first Sigstore bundle referring to $digest there (referrers API).
bundle_of() {
  local ref layer
  ref=$(curl -fsS "http://$reg/v2/$1/referrers/$digest" | jq -r '.manifests[0].digest') || return 1
  layer=$("$CRANE" manifest "$reg/$1@$ref" | jq -r '.layers[0].digest') || return 1
  "$CRANE" blob "$reg/$1@$layer"
}
without() { jq "del(.$1)" "$TR" > "$work/trusted_root.no-$1.json"; echo "$work/trusted_root.no-$1.json"; }
# A certificate's SCT list extension (RFC 6962, OID 1.3.6.1.4.1.11129.2.4.2).
has_sct() {
  jq -r '.verificationMaterial.certificate.rawBytes' "$1" | base64 -d \
    | openssl x509 -inform der -noout -text | grep -q 'CT Precertificate SCTs'
}
log_id_of() { jq -r --arg url "$1" '.tlogs[] | select(.baseUrl == $url) | .logId.keyId' "$TR"; }

### 7. Keyless attestation: Fulcio (SCT from the CT log), Rekor v1
check "cosign v3 attests $img_v1 keylessly (static issuer token, Fulcio, Rekor v1)" \
  keyless_attest "$work/signing_config.v1.json" "$img_v1"
bundle_of smoke/keyless-v1 > "$work/bundle-v1.json" 2>/dev/null
check "the bundle's certificate carries an SCT from the CT log" has_sct "$work/bundle-v1.json"
check "the bundle's log entry is in Rekor v1" test "$(jq -r '.verificationMaterial.tlogEntries[0].logId.keyId' \
  "$work/bundle-v1.json")" = "$(log_id_of "$REKOR")"
refuse "the bundle's log entry is in Rekor v2" test "$(jq -r '.verificationMaterial.tlogEntries[0].logId.keyId' \
  "$work/bundle-v1.json")" = "$(log_id_of "$HALLMARK_STACK_REKOR_V2_URL")"
check "cosign v3 verify-attestation (keyless, SCT checked) passes for $ident" keyless_verify "$ident" "$img_v1"
refuse "cosign v3 verify-attestation for a different identity" keyless_verify "$other_ident" "$img_v1"
refuse "cosign v3 verify-attestation with a trusted root without the CT log (no SCT check possible)" \
  keyless_verify "$ident" "$img_v1" "$(without ctlogs)"
refuse "cosign v3 verify-attestation with a trusted root without Fulcio" \
  keyless_verify "$ident" "$img_v1" "$(without certificateAuthorities)"
refuse "Fulcio issues a certificate for a token with another audience" \
  "$COSIGN" attest --yes --identity-token "$("$HALLMARK_STACK_MINT_TOKEN" "$ident" not-sigstore)" \
  --predicate "$work/predicate-v1.json" --type slsaprovenance1 --signing-config "$work/signing_config.v1.json" \
  --trusted-root "$TR" "$img_v1"

### 8. The same through Rekor v2 and the TSA (the exported signing config: cosign takes v2)
# A blob first. On a new stack it takes Rekor v2's index 0, which cosign's bundle leaves out
# (protojson omits zero values) and sigstore-python 4.5.1 then refuses as malformed (step 10
# verifies the attestation's bundle, which is never the first entry this way).
echo "hallmark smoke blob $tag" > "$work/blob-v2.txt"
check "cosign v3 signs a blob keylessly through Rekor v2 and the TSA" \
  "$COSIGN" sign-blob --yes --identity-token "$token" --signing-config "$HALLMARK_STACK_SIGNING_CONFIG" \
  --trusted-root "$TR" --bundle "$work/blob-v2.sigstore.json" "$work/blob-v2.txt"
blob_verify() {
  "$COSIGN" verify-blob --trusted-root "$TR" --bundle "$work/blob-v2.sigstore.json" \
    --certificate-identity "$1" --certificate-oidc-issuer "$ISSUER" "$work/blob-v2.txt"
}
check "cosign v3 verify-blob passes on it" blob_verify "$ident"
refuse "cosign v3 verify-blob for a different identity" blob_verify "$other_ident"
check "cosign v3 attests $img_v2 keylessly (Fulcio, TSA, Rekor v2)" \
  keyless_attest "$HALLMARK_STACK_SIGNING_CONFIG" "$img_v2"
bundle_of smoke/keyless-v2 > "$work/bundle-v2.json" 2>/dev/null
check "the bundle's log entry is in Rekor v2" test "$(jq -r '.verificationMaterial.tlogEntries[0].logId.keyId' \
  "$work/bundle-v2.json")" = "$(log_id_of "$HALLMARK_STACK_REKOR_V2_URL")"
check "the bundle carries an RFC 3161 timestamp from the TSA" \
  jq -e '.verificationMaterial.timestampVerificationData.rfc3161Timestamps | length == 1' "$work/bundle-v2.json"
check "the bundle's certificate carries an SCT" has_sct "$work/bundle-v2.json"
check "cosign v3 verify-attestation (Rekor v2, TSA) passes for $ident" keyless_verify "$ident" "$img_v2"
refuse "cosign v3 verify-attestation (Rekor v2) for a different identity" keyless_verify "$other_ident" "$img_v2"
refuse "cosign v3 verify-attestation with a trusted root without the TSA (Rekor v2 gives no time)" \
  keyless_verify "$ident" "$img_v2" "$(without timestampAuthorities)"
check "Rekor v2's tiles are served: the checkpoint names its origin" \
  bash -c "curl -fsS '$HALLMARK_STACK_REKOR_V2_TILES_URL/checkpoint' | head -1 | grep -qx '127.0.0.1'"
refuse "the tiles server serves a tile that does not exist" \
  curl -fsS "$HALLMARK_STACK_REKOR_V2_TILES_URL/tile/0/x999/999"

### 9. rekor-cli finds step 7's entry by the certificate's SAN
v1_index=$(jq -r '.verificationMaterial.tlogEntries[0].logIndex' "$work/bundle-v1.json")
v1_uuid=$(rekor_cli get --log-index "$v1_index" --format json 2>/dev/null | jq -r .UUID)
check "rekor-cli search --subject $ident finds the entry of step 7 (index $v1_index)" \
  bash -c "'$REKOR_CLI' search --store_tree_state=false --rekor_server '$REKOR' --subject '$ident' --format json | jq -e --arg u '$v1_uuid' '.UUIDs | index(\$u) != null'"
check "rekor-cli search --subject $ident finds exactly one entry" \
  bash -c "'$REKOR_CLI' search --store_tree_state=false --rekor_server '$REKOR' --subject '$ident' --format json | jq -e '.UUIDs | length == 1'"
# No match is an error with this message; anything else (a refused connection) is not "nothing".
search_subject_none() {
  ! rekor_cli search --subject "$1" --format json >"$work/search" 2>&1 &&
    grep -q 'no matching entries found' "$work/search"
}
check "rekor-cli search --subject for another SAN finds nothing" search_subject_none "$other_ident"

### 10. sigstore-python verifies step 7's bundle with the ClientTrustConfig
# sigstore-python's CLI (verify identity) checks the bundle, then refuses cosign's in-toto
# Statement v0.1 (cosign v3.1.2 writes v0.1 even for SLSA v1; sigstore-python 4.5.1 parses v1
# only). So the check runs the same steps through its API: the ClientTrustConfig's trusted root,
# Verifier.verify_dsse with an Identity policy (chain, SCT, tlog inclusion, identity), and the
# statement's subject against the image digest.
py_verify() { # py_verify BUNDLE IDENTITY [TRUST_CONFIG]
  "$(dirname "$SIGSTORE_PY")/python" - "${3:-$HALLMARK_STACK_TRUST_CONFIG}" "$1" "$2" "$ISSUER" "${digest#sha256:}" <<'PY'
import json, sys
from pathlib import Path
from sigstore.models import Bundle, ClientTrustConfig
from sigstore.verify import Verifier, policy

trust_config, bundle, identity, issuer, digest = sys.argv[1:]
config = ClientTrustConfig.from_json(Path(trust_config).read_text())
verifier = Verifier(trusted_root=config.trusted_root)
kind, payload = verifier.verify_dsse(
    Bundle.from_json(Path(bundle).read_bytes()), policy.Identity(identity=identity, issuer=issuer))
assert kind == "application/vnd.in-toto+json", kind
subjects = [s["digest"].get("sha256") for s in json.loads(payload)["subject"]]
assert digest in subjects, f"no subject {digest} in {subjects}"
print("OK:", subjects)
PY
}
check "sigstore-python verifies step 7's bundle (Rekor v1) with the ClientTrustConfig" \
  py_verify "$work/bundle-v1.json" "$ident"
refuse "sigstore-python verifies it for a different identity" py_verify "$work/bundle-v1.json" "$other_ident"
check "sigstore-python verifies step 8's bundle (Rekor v2, TSA) with the ClientTrustConfig" \
  py_verify "$work/bundle-v2.json" "$ident"
refuse "sigstore-python verifies step 8's bundle for a different identity" \
  py_verify "$work/bundle-v2.json" "$other_ident"
jq '.trustedRoot.ctlogs = []' "$HALLMARK_STACK_TRUST_CONFIG" > "$work/trust_config.no-ctlogs.json"
refuse "sigstore-python verifies it with a ClientTrustConfig without the CT log (it requires SCTs)" \
  py_verify "$work/bundle-v1.json" "$ident" "$work/trust_config.no-ctlogs.json"
# The CLI, on a statement it can parse: sigstore-python signs a blob itself with a static-issuer
# token, against the stack (signing config from the ClientTrustConfig), then verifies it.
echo "hallmark smoke $tag" > "$work/py-blob.txt"
py_cli() { "$SIGSTORE_PY" --trust-config "$HALLMARK_STACK_TRUST_CONFIG" "$@"; }
check "sigstore-python signs a blob keylessly through the stack (--trust-config)" \
  py_cli sign --identity-token "$token" --bundle "$work/py-blob.sigstore.json" "$work/py-blob.txt"
check "sigstore-python verify identity (CLI) passes on it" py_cli verify identity \
  --bundle "$work/py-blob.sigstore.json" --cert-identity "$ident" --cert-oidc-issuer "$ISSUER" "$work/py-blob.txt"
refuse "sigstore-python verify identity (CLI) for a different identity" py_cli verify identity \
  --bundle "$work/py-blob.sigstore.json" --cert-identity "$other_ident" --cert-oidc-issuer "$ISSUER" "$work/py-blob.txt"

### 11. The TUF repository serves the trusted root to a client started from its initial root
TUFTOOL=$("$here/install" tuftool)
tuf_download() { # tuf_download ROOT_JSON OUTDIR
  rm -rf "$2"
  "$TUFTOOL" download --root "$1" --metadata-url "$HALLMARK_STACK_TUF_URL" \
    --targets-url "$HALLMARK_STACK_TUF_URL/targets" --target-name trusted_root.json "$2"
}
check "tuftool download (from the initial root.json) fetches trusted_root.json" \
  tuf_download "$HALLMARK_STACK_TUF_ROOT" "$work/tuf-out"
check "the fetched trusted root is the stack's" cmp "$work/tuf-out/trusted_root.json" "$TR"
# Another root of the same shape, with a key the repository never signed with.
mkdir -p "$work/other-tuf"
other_root() {
  local r=$work/other-tuf/root.json role
  "$TUFTOOL" root init "$r" && "$TUFTOOL" root expire "$r" "in 4 weeks" || return 1
  for role in root snapshot targets timestamp; do "$TUFTOOL" root set-threshold "$r" "$role" 1 || return 1; done
  "$TUFTOOL" root gen-rsa-key "$r" "$work/other-tuf/key.pem" \
    --role root --role snapshot --role targets --role timestamp &&
    "$TUFTOOL" root sign "$r" -k "$work/other-tuf/key.pem"
}
other_root >/dev/null 2>&1 || { echo "not ok - making another TUF root"; finish 1; }
refuse "tuftool download from another root (the repository's metadata is not signed by it)" \
  tuf_download "$work/other-tuf/root.json" "$work/tuf-other-out"
jq '.signed.version = 2' "$HALLMARK_STACK_TUF_ROOT" > "$work/tampered-root.json"
refuse "tuftool download from a tampered copy of the initial root" \
  tuf_download "$work/tampered-root.json" "$work/tuf-tampered-out"

### 12. Part 2's services keep their keys, logs and trust files across a restart
cp "$TR" "$work/trusted_root.before.json"
v2_size() { curl -fsS "$HALLMARK_STACK_REKOR_V2_TILES_URL/checkpoint" | sed -n 2p; }
v2_size_before=$(v2_size)
"$here/restart" oidc ctlog fulcio tsa rekor-v2 rekor-v2-tiles tuf >"$work/restart.log" 2>&1 \
  || { cat "$work/restart.log"; echo "not ok - restart part 2's components"; finish 1; }
check "after restart the trusted root is unchanged" cmp "$work/trusted_root.before.json" "$TR"
check "after restart step 8's attestation still verifies" keyless_verify "$ident" "$img_v2"
refuse "after restart it still refuses a different identity" keyless_verify "$other_ident" "$img_v2"
token=$("$HALLMARK_STACK_MINT_TOKEN" "$ident")
check "after restart cosign v3 attests keylessly through Rekor v2 again" \
  keyless_attest "$HALLMARK_STACK_SIGNING_CONFIG" "$img_v2"
check "Rekor v2's log grew from $v2_size_before entries" test "$(v2_size)" -gt "$v2_size_before"
check "after restart tuftool download still fetches the trusted root from the initial root.json" \
  tuf_download "$HALLMARK_STACK_TUF_ROOT" "$work/tuf-out-2"
check "and it is still the stack's trusted root" cmp "$work/tuf-out-2/trusted_root.json" "$TR"
