#!/usr/bin/env bash
# benches/verify_image.sh [RUNS]   Issue 10's benchmark: verifying an image that carries 10
# attestations, whole process, hallmark beside cosign v2, in the same run, on the stack.
#
# Needs the stack (tests/stack/up; the env of tests/stack/env). Set-up, once: an image in
# the stack's registry; a key pair; 10 SLSA v0.2 provenance attestations (10 different
# builder ids), each published by `hallmark attest --bundle-format legacy` (cosign's
# `sha256-<hex>.att` tag, one layer per attestation, each logged in the stack's Rekor with
# its Rekor bundle). Then both tools must accept the image with the key and refuse it with
# another key, and then RUNS (default 11) rounds run, in an order rotated every round:
#   hallmark verify IMAGE --key K --type slsaprovenance --trusted-root STACK_ROOT
#   cosign verify-attestation --key K --type slsaprovenance --rekor-url STACK_REKOR IMAGE
#     (cosign v2, SIGSTORE_REKOR_PUBLIC_KEY = the stack's Rekor key; it checks every
#     attestation's Rekor bundle offline)
# Both read the same `.att` manifest and layers over HTTP from 127.0.0.1 and verify every
# attestation they find (hallmark reports each one; cosign prints each payload).
# Wall time: bash's $EPOCHREALTIME around `/usr/bin/time -f %M`; peak RSS: GNU time's %M
# (benches/lib/measure.sh).
# Prints a table (median, p90, peak RSS) and the ratio cosign / hallmark (goal: >= 10).
# HALLMARK_BIN=PATH measures that binary instead of building target/release/hallmark.
set -euo pipefail
export LC_ALL=C

RUNS=${1:-11}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/lib/measure.sh
. "$ROOT/benches/lib/measure.sh"
bench_init "$RUNS" "$ROOT"
echo "bench $$ $RANDOM" >layer.txt && tar -cf layer.tar layer.txt
tag=$HALLMARK_STACK_REGISTRY/bench/verify-image:$$
"$HALLMARK_STACK_CRANE" append -f layer.tar -t "$tag" >/dev/null
IMAGE=$HALLMARK_STACK_REGISTRY/bench/verify-image@$("$HALLMARK_STACK_CRANE" digest "$tag")
for i in $(seq 1 10); do
  printf '{"builder":{"id":"https://hallmark.test/bench/%s"},"buildType":"https://hallmark.test/v1","invocation":{},"materials":[]}' "$i" >p.json
  "$HALLMARK" attest "$IMAGE" --predicate p.json --type slsaprovenance --key key.key \
    --rekor-url "$HALLMARK_STACK_REKOR_URL" --trusted-root "$HALLMARK_STACK_TRUSTED_ROOT" \
    --bundle-format legacy >/dev/null 2>attest.err || { cat attest.err >&2; exit 1; }
done
layers=$("$HALLMARK_STACK_CRANE" manifest "$HALLMARK_STACK_REGISTRY/bench/verify-image:$(cut -d@ -f2 <<<"$IMAGE" | tr : -).att" | jq '.layers | length')
[ "$layers" = 10 ] || { echo "the .att image has $layers layers, want 10" >&2; exit 1; }

hallmark_cmd() { "$HALLMARK" verify "$IMAGE" --key "$1" --type slsaprovenance --trusted-root "$HALLMARK_STACK_TRUSTED_ROOT" -o json; }
cosign_cmd() {
  SIGSTORE_REKOR_PUBLIC_KEY=$HALLMARK_STACK_REKOR_PUBKEY "$COSIGN" verify-attestation --key "$1" \
    --type slsaprovenance --rekor-url "$HALLMARK_STACK_REKOR_URL" --allow-insecure-registry "$IMAGE"
}
# Both accept it, both refuse another key: they do the work being measured.
hallmark_cmd key.pub >h.json 2>/dev/null || { echo "hallmark refuses the image" >&2; exit 1; }
[ "$(jq '[.attestations[] | select(.decision == "pass")] | length' h.json)" = 10 ] ||
  { echo "hallmark did not verify all 10 attestations" >&2; exit 1; }
[ "$(cosign_cmd key.pub 2>/dev/null | grep -c '"payloadType"')" = 10 ] ||
  { echo "cosign did not verify all 10 attestations" >&2; exit 1; }
if hallmark_cmd other.pub >/dev/null 2>&1; then echo "hallmark accepts another key" >&2; exit 1; fi
if cosign_cmd other.pub >/dev/null 2>&1; then echo "cosign accepts another key" >&2; exit 1; fi

hallmark_bench() { hallmark_cmd key.pub; }
cosign_bench() { cosign_cmd key.pub; }
export HALLMARK COSIGN IMAGE HALLMARK_STACK_TRUSTED_ROOT HALLMARK_STACK_REKOR_URL HALLMARK_STACK_REKOR_PUBKEY
export -f hallmark_cmd cosign_cmd hallmark_bench cosign_bench
bench_measure "$RUNS" hallmark cosign
bench_table hallmark cosign
echo "$(bench_ratio cosign hallmark)  ($RUNS rounds, 10 attestations)"
