#!/usr/bin/env bash
# benches/verify_bundle.sh [RUNS]   Issue 4's benchmark: verifying one Sigstore bundle offline,
# whole process, with hallmark, sigstore-python and cosign v3, in the same run.
#
# The bundle is the sigstore-conformance case `happy-path-intoto-in-dsse-v3` (a keyless,
# public-good v0.3 bundle holding a DSSE envelope with an in-toto SLSA v1 statement whose
# subject is `a.txt`). Each tool verifies it against the Sigstore public-good trusted root,
# with the suite's default identity and issuer, without any network access:
#   hallmark verify --bundle B --certificate-identity I --certificate-oidc-issuer ISS --trusted-root T a.txt
#   sigstore verify identity --offline --bundle B --cert-identity I --cert-oidc-issuer ISS a.txt
#     (its embedded production root, the same public-good root as T)
#   cosign verify-blob-attestation --type slsaprovenance1 --bundle B --certificate-identity I
#     --certificate-oidc-issuer ISS --trusted-root T a.txt
#
# First each tool must accept the bundle (exit 0) and reject it for a tampered artifact
# (non-zero), both inside a network namespace with no network (`unshare -rn`, when the
# kernel allows it), which proves they are offline. Then RUNS (default 21) rounds each run
# every tool once, in an order rotated every round so background load hits all alike; a
# `true` process measured the same way shows the fixed cost of spawning a process.
# Wall time: bash's $EPOCHREALTIME around `/usr/bin/time -f %M` (so it includes that
# wrapper's fork/exec, the same for every tool); peak RSS: GNU time's %M (max resident set).
# Prints a table (median, p90, peak RSS) and the ratios against sigstore-python and cosign.
# Environment: BENCH_RAW=FILE also writes every measurement (tool, µs, KiB) to FILE;
# HALLMARK_BIN=PATH measures that binary instead of building target/release/hallmark.
set -euo pipefail
export LC_ALL=C

RUNS=${1:-21}
case $RUNS in '' | *[!0-9]*) echo "usage: $0 [RUNS]" >&2; exit 2 ;; esac
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
# The shared fixtures beside the checkout, as tests/run finds them.
FIXTURES=${HALLMARK_FIXTURES:-${HALLMARK_SHARED_DIR:-$ROOT/../shared}/fixtures}
CASE_DIR="$FIXTURES/sigstore-conformance/bundle-verify/happy-path-intoto-in-dsse-v3"
BUNDLE="$CASE_DIR/bundle.sigstore.json"
ARTIFACT="$CASE_DIR/../a.txt"
TRUSTED_ROOT="$FIXTURES/sigstore-trust/public-good.trusted_root.json"
# The conformance suite's defaults (the case has no `identity` / `issuer` file).
IDENTITY=https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main
ISSUER=https://token.actions.githubusercontent.com
[ -f "$CASE_DIR/identity" ] && IDENTITY=$(cat "$CASE_DIR/identity")
[ -f "$CASE_DIR/issuer" ] && ISSUER=$(cat "$CASE_DIR/issuer")
for f in "$BUNDLE" "$ARTIFACT" "$TRUSTED_ROOT"; do
  [ -f "$f" ] || { echo "missing fixture: $f" >&2; exit 2; }
done

# shellcheck source=../tests/stack/versions
. "$ROOT/tests/stack/versions"
command -v /usr/bin/time >/dev/null || apt-get install -y time >&2
[ "${BASH_VERSINFO[0]}" -ge 5 ] || { echo "needs bash >= 5 (EPOCHREALTIME)" >&2; exit 2; }

# Tools (built or installed once, cached; before HOME is replaced below).
if [ -n "${HALLMARK_BIN:-}" ]; then
  HALLMARK=$HALLMARK_BIN
else
  (cd "$ROOT" && cargo build --quiet --release --bin hallmark)
  HALLMARK="$ROOT/target/release/hallmark"
fi
SIGSTORE_PY=$("$ROOT/tests/stack/install" sigstore-python)
COSIGN=$("$ROOT/tests/stack/install" cosign)

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# A fresh, empty HOME / TUF cache: nothing cached from an earlier online run is used.
export HOME="$WORK/home" TUF_ROOT="$WORK/tuf" XDG_CACHE_HOME="$WORK/cache" XDG_DATA_HOME="$WORK/data"
mkdir -p "$HOME" "$TUF_ROOT" "$XDG_CACHE_HOME" "$XDG_DATA_HOME"
TAMPERED="$WORK/a.txt"
{ cat "$ARTIFACT"; printf 'tampered\n'; } > "$TAMPERED"

# set_cmd TOOL ARTIFACT: CMD becomes TOOL's whole-process verification of ARTIFACT (run
# directly, with no shell in between, so its RSS is the tool's own).
set_cmd() {
  case $1 in
    hallmark) CMD=("$HALLMARK" verify --bundle "$BUNDLE" --certificate-identity "$IDENTITY"
        --certificate-oidc-issuer "$ISSUER" --trusted-root "$TRUSTED_ROOT" "$2") ;;
    sigstore-python) CMD=("$SIGSTORE_PY" verify identity --offline --bundle "$BUNDLE"
        --cert-identity "$IDENTITY" --cert-oidc-issuer "$ISSUER" "$2") ;;
    cosign) CMD=("$COSIGN" verify-blob-attestation --type slsaprovenance1 --bundle "$BUNDLE"
        --certificate-identity "$IDENTITY" --certificate-oidc-issuer "$ISSUER"
        --trusted-root "$TRUSTED_ROOT" "$2") ;;
    true) CMD=(/bin/true) ;;
  esac
}

TOOLS=(hallmark sigstore-python cosign)
NONET=()
if unshare -rn true 2>/dev/null; then NONET=(unshare -rn); fi
echo "checks (${NONET[*]:-network not isolated: unshare -rn unavailable}):"
for t in "${TOOLS[@]}"; do
  set_cmd "$t" "$ARTIFACT"
  if ! "${NONET[@]}" "${CMD[@]}" >"$WORK/out" 2>&1; then
    cat "$WORK/out" >&2; echo "FAIL: $t rejected the valid bundle" >&2; exit 1
  fi
  set_cmd "$t" "$TAMPERED"
  if "${NONET[@]}" "${CMD[@]}" >"$WORK/out" 2>&1; then
    cat "$WORK/out" >&2; echo "FAIL: $t accepted a tampered artifact" >&2; exit 1
  fi
  echo "  $t: valid -> exit 0, tampered artifact -> exit non-zero"
done

# measure TOOL: one timed run, appended to $WORK/raw as "TOOL MICROSECONDS KIB".
measure() {
  local t0 t1 rc=0
  set_cmd "$1" "$ARTIFACT"
  t0=${EPOCHREALTIME/./}
  /usr/bin/time -f '%M' -o "$WORK/rss" "${CMD[@]}" >/dev/null 2>&1 || rc=$?
  t1=${EPOCHREALTIME/./}
  [ "$rc" -eq 0 ] || { echo "FAIL: $1 exited $rc during the timed runs" >&2; exit 1; }
  printf '%s %s %s\n' "$1" "$((t1 - t0))" "$(tail -n 1 "$WORK/rss")" >> "$WORK/raw"
}

ALL=("${TOOLS[@]}" true)
for t in "${ALL[@]}"; do measure "$t"; done   # warm-up (page cache, .pyc), not counted
: > "$WORK/raw"
for ((i = 0; i < RUNS; i++)); do
  for ((j = 0; j < ${#ALL[@]}; j++)); do
    measure "${ALL[(i + j) % ${#ALL[@]}]}"
  done
done
[ -z "${BENCH_RAW:-}" ] || cp "$WORK/raw" "$BENCH_RAW"

# stats TOOL: "MEDIAN_S P90_S PEAK_RSS_MIB MEDIAN_RSS_MIB" (p90: nearest rank).
stats() {
  awk -v t="$1" '$1 == t { print $2 }' "$WORK/raw" | sort -n > "$WORK/times"
  awk -v t="$1" '$1 == t { print $3 }' "$WORK/raw" | sort -n > "$WORK/rsses"
  awk '
    function median(a, n) { return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    FNR == NR { v[++n] = $1; next }
    { r[++m] = $1 }
    END {
      k = int(0.9 * n); if (k < 0.9 * n) k++
      printf "%.4f %.4f %.1f %.1f\n", median(v, n) / 1e6, v[k] / 1e6, r[m] / 1024, median(r, m) / 1024
    }' "$WORK/times" "$WORK/rsses"
}

declare -A MED PEAK
echo
echo "bundle: $BUNDLE"
echo "$RUNS runs per tool, interleaved; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '| %-28s | %9s | %9s | %13s | %15s |\n' tool 'median s' 'p90 s' 'peak RSS MiB' 'median RSS MiB'
printf '|%s|%s:|%s:|%s:|%s:|\n' ------------------------------ ---------- ---------- -------------- ----------------
for t in "${ALL[@]}"; do
  read -r med p90 peak mrss < <(stats "$t")
  MED[$t]=$med PEAK[$t]=$peak
  case $t in
    hallmark) label="hallmark $("$HALLMARK" --version | awk '{ print $2 }')" ;;
    sigstore-python) label="sigstore-python $("$SIGSTORE_PY" --version | awk '{ print $2 }')" ;;
    cosign) label="cosign ${COSIGN_V3_VERSION:-v3}" ;;
    true) label="\`true\` (spawn baseline)" ;;
  esac
  printf '| %-28s | %9s | %9s | %13s | %15s |\n' "$label" "$med" "$p90" "$peak" "$mrss"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f (1/%.1f)", a / b, b / a }'; }
echo
for peer in sigstore-python cosign; do
  echo "hallmark / $peer: time $(ratio "${MED[hallmark]}" "${MED[$peer]}")," \
    "peak RSS $(ratio "${PEAK[hallmark]}" "${PEAK[$peer]}")"
done
goal() { awk -v r="$1" -v g="$2" 'BEGIN { print (r <= g) ? "met" : "NOT met" }'; }
echo "goal time <= 1/20 of sigstore-python: $(goal "$(awk -v a="${MED[hallmark]}" -v b="${MED[sigstore-python]}" 'BEGIN { print a / b }')" 0.05)"
echo "goal peak RSS <= 1/4 of sigstore-python: $(goal "$(awk -v a="${PEAK[hallmark]}" -v b="${PEAK[sigstore-python]}" 'BEGIN { print a / b }')" 0.25)"
