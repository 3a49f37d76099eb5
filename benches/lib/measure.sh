# benches/lib/measure.sh: the measuring loop the stack benchmarks share (sourced, not run).
# Needs BENCH_TMP (a scratch directory) set by the caller.
#
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
