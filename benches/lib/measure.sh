# benches/lib/measure.sh: what the stack benchmarks (verify_image.sh, verify_chain.sh)
# share: set-up and the measuring loop (sourced, not run).
#
# bench_init RUNS ROOT         checks RUNS (a number), the stack's env, GNU time and bash >= 5;
#   sets HALLMARK (HALLMARK_BIN, else ROOT's target/release/hallmark, built), COSIGN (cosign
#   v2), BENCH_TMP (a scratch directory removed at exit, made the current directory),
#   COSIGN_PASSWORD, and writes the key pairs key.{key,pub} and other.{key,pub} there.
# bench_measure RUNS TOOL...   RUNS rounds; each round runs every TOOL's `TOOL_bench` shell
#   function once (in a fresh `bash -c`: export the function with `export -f`, and the
#   variables it reads; it runs in the current directory), in an order
#   rotated every round so background load hits all alike. Wall time: bash's $EPOCHREALTIME
#   around `/usr/bin/time -f %M` (µs, in BENCH_WALL[TOOL]); peak RSS: GNU time's %M (KiB, in
#   BENCH_RSS[TOOL]). The command's output is discarded.
# bench_stat LIST Q            the Q-quantile (0..1, nearest rank) of a space-separated LIST.
# bench_table TOOL...          a table: median and p90 wall time (ms), peak RSS (MiB).
# bench_ratio PEER TOOL        "PEER / TOOL" median wall time and peak RSS ratios.
# shellcheck shell=bash

declare -A BENCH_WALL BENCH_RSS

bench_init() {
  case $1 in '' | *[!0-9]*) echo "usage: $0 [RUNS]" >&2; exit 2 ;; esac
  : "${HALLMARK_STACK_REGISTRY:?run eval \"\$(tests/stack/env)\" first (needs the stack)}"
  : "${HALLMARK_STACK_REKOR_URL:?}" "${HALLMARK_STACK_REKOR_PUBKEY:?}" "${HALLMARK_STACK_TRUSTED_ROOT:?}"
  : "${HALLMARK_STACK_COSIGN_V2:?}" "${HALLMARK_STACK_CRANE:?}"
  command -v /usr/bin/time >/dev/null || apt-get install -y time >&2
  [ "${BASH_VERSINFO[0]}" -ge 5 ] || { echo "needs bash >= 5 (EPOCHREALTIME)" >&2; exit 2; }
  if [ -n "${HALLMARK_BIN:-}" ]; then
    HALLMARK=$HALLMARK_BIN
  else
    (cd "$2" && cargo build --quiet --release --bin hallmark)
    HALLMARK="$2/target/release/hallmark"
  fi
  export COSIGN=$HALLMARK_STACK_COSIGN_V2
  BENCH_TMP=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: the directory of this run
  trap "rm -rf '$BENCH_TMP'" EXIT
  cd "$BENCH_TMP" || exit 2
  export COSIGN_PASSWORD=bench-$RANDOM
  "$HALLMARK" generate-key-pair --output-key-prefix key >/dev/null 2>&1
  "$HALLMARK" generate-key-pair --output-key-prefix other >/dev/null 2>&1
}

bench_measure() {
  local runs=$1 r k t start end
  shift
  local tools=("$@")
  for ((r = 0; r < runs; r++)); do
    for ((k = 0; k < ${#tools[@]}; k++)); do
      t=${tools[$(((k + r) % ${#tools[@]}))]}
      start=$EPOCHREALTIME
      /usr/bin/time -f %M -o "$BENCH_TMP/rss.txt" bash -c "${t}_bench" >/dev/null 2>&1
      end=$EPOCHREALTIME
      BENCH_WALL[$t]+="$((${end/./} - ${start/./})) "
      BENCH_RSS[$t]+="$(cat "$BENCH_TMP/rss.txt") "
    done
  done
}

bench_stat() {
  tr ' ' '\n' <<<"$1" | grep . | sort -n | awk -v q="$2" '{a[NR]=$1} END {i=int(NR*q+0.999); if (i<1) i=1; print a[i]}'
}

bench_table() {
  local t
  printf '%-10s %12s %12s %14s\n' tool "median ms" "p90 ms" "peak RSS MiB"
  for t in "$@"; do
    awk -v t="$t" -v m="$(bench_stat "${BENCH_WALL[$t]}" 0.5)" -v p="$(bench_stat "${BENCH_WALL[$t]}" 0.9)" \
      -v r="$(bench_stat "${BENCH_RSS[$t]}" 1.0)" \
      'BEGIN {printf "%-10s %12.1f %12.1f %14.1f\n", t, m / 1000, p / 1000, r / 1024}'
  done
}

bench_ratio() {
  awk -v p="$(bench_stat "${BENCH_WALL[$1]}" 0.5)" -v t="$(bench_stat "${BENCH_WALL[$2]}" 0.5)" \
    -v pr="$(bench_stat "${BENCH_RSS[$1]}" 1.0)" -v tr="$(bench_stat "${BENCH_RSS[$2]}" 1.0)" \
    -v n1="$1" -v n2="$2" 'BEGIN {printf "ratio (%s / %s): wall %.1fx, peak RSS %.1fx", n1, n2, p / t, pr / tr}'
}
