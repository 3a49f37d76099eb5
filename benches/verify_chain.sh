#!/usr/bin/env bash
# benches/verify_chain.sh [RUNS]   Issue 10's benchmark: `hallmark verify --chain` over a
# three-task pipeline (clone -> build -> package), whole process, beside cosign v2 verifying
# the same images one by one, in the same run, on the stack.
#
# Needs the stack (tests/stack/up; the env of tests/stack/env). Set-up, once: images A
# (built) and B (packaged from A) in the stack's registry; a key pair; the provenance of
# the PipelineRun as Chains' SLSA v0.2 format writes it (`tekton.dev/pipelineTask` labels,
# `buildConfig.tasks` with build's IMAGE_URL/IMAGE_DIGEST results):
#   build   (TaskRun):    subject A, material the git commit;
#   package (TaskRun):    subject B, material A (an *ARTIFACT_INPUTS material);
#   the PipelineRun:      subject B, build's results naming A;
# each published by `hallmark attest --bundle-format legacy` (logged in the stack's Rekor,
# with the Rekor bundle in the `.att` layer). Then:
#   hallmark verify B --key K --chain --trusted-root STACK_ROOT -o json
#     (verifies B's two attestations, walks to A, verifies A's, reaches the git commit)
#   cosign verify-attestation --key K --type slsaprovenance B; the same for A
#     (cosign v2, SIGSTORE_REKOR_PUBLIC_KEY = the stack's Rekor key: the same signatures
#     and Rekor bundles checked, but not the links between the steps)
# hallmark must pass with the key, print A and the commit in its chain, and deny another
# key; cosign must accept both images and refuse another key. Then RUNS (default 11) rounds
# (benches/lib/measure.sh). Prints a table (median, p90, peak RSS) and the ratio
# cosign / hallmark. HALLMARK_BIN=PATH measures that binary instead of building
# target/release/hallmark.
set -euo pipefail
export LC_ALL=C

RUNS=${1:-11}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/lib/measure.sh
. "$ROOT/benches/lib/measure.sh"
bench_init "$RUNS" "$ROOT"
push() {
  echo "bench $1 $$ $RANDOM" >layer.txt && tar -cf layer.tar layer.txt
  "$HALLMARK_STACK_CRANE" append -f layer.tar -t "$HALLMARK_STACK_REGISTRY/bench/chain-$1:$$" >/dev/null 2>&1
  echo "$HALLMARK_STACK_REGISTRY/bench/chain-$1@$("$HALLMARK_STACK_CRANE" digest "$HALLMARK_STACK_REGISTRY/bench/chain-$1:$$")"
}
A=$(push a) B=$(push b)
commit=4f9c2b7e1d3a5c6b8e0f1a2b3c4d5e6f7a8b9c0d
labels() { printf '{"tekton.dev/pipeline":"bench","tekton.dev/pipelineRun":"bench-%s","tekton.dev/pipelineTask":"%s"}' $$ "$1"; }
provenance() { # KIND LABELS MATERIALS [BUILDCONFIG]
  printf '{"builder":{"id":"https://tekton.dev/chains/v2"},"buildType":"tekton.dev/v1/%s","invocation":{"environment":{"labels":%s}},"materials":%s,"buildConfig":%s}' \
    "$1" "$2" "$3" "${4:-{\}}"
}
attest() { # IMAGE PREDICATE
  echo "$2" >p.json
  "$HALLMARK" attest "$1" --predicate p.json --type slsaprovenance --key key.key \
    --rekor-url "$HALLMARK_STACK_REKOR_URL" --trusted-root "$HALLMARK_STACK_TRUSTED_ROOT" \
    --bundle-format legacy >/dev/null 2>attest.err || { cat attest.err >&2; exit 1; }
}
attest "$A" "$(provenance TaskRun "$(labels build)" "[{\"uri\":\"git+https://git.example/bench/app.git\",\"digest\":{\"sha1\":\"$commit\"}}]")"
attest "$B" "$(provenance TaskRun "$(labels package)" "[{\"uri\":\"${A%@*}\",\"digest\":{\"sha256\":\"${A##*sha256:}\"}}]")"
attest "$B" "$(provenance PipelineRun '{"tekton.dev/pipeline":"bench"}' '[]' \
  "{\"tasks\":[{\"name\":\"build\",\"results\":[{\"name\":\"IMAGE_URL\",\"type\":\"string\",\"value\":\"${A%@*}\"},{\"name\":\"IMAGE_DIGEST\",\"type\":\"string\",\"value\":\"${A##*@}\"}]}]}")"

hallmark_cmd() { "$HALLMARK" verify "$B" --key "$1" --chain --trusted-root "$HALLMARK_STACK_TRUSTED_ROOT" -o json; }
cosign_cmd() {
  for image in "$B" "$A"; do
    SIGSTORE_REKOR_PUBLIC_KEY=$HALLMARK_STACK_REKOR_PUBKEY "$COSIGN" verify-attestation --key "$1" \
      --type slsaprovenance --rekor-url "$HALLMARK_STACK_REKOR_URL" --allow-insecure-registry "$image" || return 1
  done
}
# Both accept the images, both refuse another key: they do the work being measured.
hallmark_cmd key.pub >h.json 2>/dev/null || { echo "hallmark refuses the chain" >&2; cat h.json >&2; exit 1; }
jq -e --arg a "image:$A" --arg c "source:https://git.example/bench/app.git@sha1:$commit" \
  '[.chain.nodes[] | select((.id == $a and .verdict == "pass") or .id == $c)] | length == 2' h.json >/dev/null ||
  { echo "hallmark's chain does not reach A and the commit" >&2; jq .chain h.json >&2; exit 1; }
[ "$(cosign_cmd key.pub 2>/dev/null | grep -c '"payloadType"')" = 3 ] ||
  { echo "cosign did not verify the 3 attestations" >&2; exit 1; }
if hallmark_cmd other.pub >/dev/null 2>&1; then echo "hallmark accepts another key" >&2; exit 1; fi
if cosign_cmd other.pub >/dev/null 2>&1; then echo "cosign accepts another key" >&2; exit 1; fi

hallmark_bench() { hallmark_cmd key.pub; }
cosign_bench() { cosign_cmd key.pub; }
export HALLMARK COSIGN A B HALLMARK_STACK_TRUSTED_ROOT HALLMARK_STACK_REKOR_URL HALLMARK_STACK_REKOR_PUBKEY
export -f hallmark_cmd cosign_cmd hallmark_bench cosign_bench
bench_measure "$RUNS" hallmark cosign
bench_table hallmark cosign
echo "$(bench_ratio cosign hallmark)  ($RUNS rounds; hallmark: B, A and the links; cosign: B, then A)"
