#!/usr/bin/env bash
# Speed figures of the harness (benchmarks, not tests: nothing here fails on a number).
#
#   ci/bench.sh [--seconds N]      (N seconds per timed measurement, default 30)
#
# Reports
#   1. runner ops/s: `rmapcheck run` on random sequences (model + impl + three
#      observations compared + invariants, per op), release build;
#   2. libFuzzer exec/s of the plain (unsanitized, -O2) target from corpus/seed, and the
#      mean input length in ops it ran at;
#   3. shrink ratios: 10 failing traces made by `rmapcheck run` with a bug-zoo switch on
#      (impl/bugs.hpp: deliberately wrong rules, off unless --bug names them), each
#      shrunk with `rmapcheck shrink`; ops before -> after;
#   4. the interval tree micro-benchmarks (Google Benchmark).
# Everything goes to stdout and to build/bench/summary.txt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=30
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

jobs="${JOBS:-2}"
out=build/bench
mkdir -p "$out"
summary="$out/summary.txt"
: >"$summary"
say() { echo "$*" | tee -a "$summary"; }

echo "bench: building (release, fuzz-plain)"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs" --target rmapcheck interval_tree_bench >"$out/build.log" 2>&1
fuzz_target=$(ci/fuzz-build.sh --engine libfuzzer --plain 2>>"$out/build.log" | tail -n 1)
rmapcheck=build/release/tools/rmapcheck

say "rmapcheck bench, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"

# 1. Runner throughput.
line=$("$rmapcheck" run --time "$seconds" --seed 1 --quiet --findings "$out/findings" | tail -n 1)
ops=$(echo "$line" | sed -n 's/^no finding: \([0-9]*\) sequences, \([0-9]*\) ops.*/\2/p')
seqs=$(echo "$line" | sed -n 's/^no finding: \([0-9]*\) sequences.*/\1/p')
if [ -n "$ops" ]; then
  say "runner: $ops ops in $seqs sequences in ${seconds} s = $((ops / seconds)) ops/s"
else
  say "runner: no figure ($line)"
fi

# 2. libFuzzer throughput, plain build, from the seed corpus.
work="$out/libfuzzer-corpus"
rm -rf "$work" && mkdir -p "$work"
"$fuzz_target" -max_total_time="$seconds" -print_final_stats=1 -dict=fuzz/rmapcheck.dict -max_len=4096 \
  "$work" corpus/seed >"$out/libfuzzer.log" 2>&1 || true
execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/libfuzzer.log")
rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$out/libfuzzer.log")
mean_ops=$(for f in "$work"/*; do "$rmapcheck" decode "$f" | grep -vc '^#'; done 2>/dev/null |
  awk '{ s += $1; n++ } END { if (n) printf "%.0f", s / n; else print "?" }')
say "libFuzzer (plain): ${execs:-?} exec/s, peak RSS ${rss:-?} MB, corpus $(ls "$work" | wc -l) inputs of $mean_ops ops on average"

# 3. Shrink ratios over 10 generated failing traces.
say "shrink (bug switch, seed: ops before -> after, runs, seconds):"
total_before=0 total_after=0 n=0
for spec in merge_incompatible_anon_vmas:1 merge_incompatible_anon_vmas:100 merge_incompatible_anon_vmas:2000 \
            anon_vma_reuse_uncounted:1 anon_vma_reuse_uncounted:100 skip_anon_vma_clone_on_split:1 \
            reclaim_ignores_mlock:1 reclaim_ignores_mlock:100 swapin_skips_swap_cache:1 \
            buddy_merge_wrong_buddy:1; do
  bug=${spec%%:*} seed=${spec##*:}
  rm -rf "$out/findings"
  "$rmapcheck" run --bug "$bug" --seed "$seed" --time 120 --quiet --findings "$out/findings" >/dev/null || true
  trace=$(ls "$out"/findings/*.trace 2>/dev/null | head -n 1 || true)
  if [ -z "$trace" ]; then say "  $bug $seed: no finding in 120 s"; continue; fi
  result=$("$rmapcheck" shrink "$trace" --bug "$bug" -o "$out/shrunk-$bug-$seed.trace" | head -n 1)
  before=$(echo "$result" | sed -n 's/^shrunk \([0-9]*\) ops to \([0-9]*\) ops in \([0-9]*\) runs (\([0-9.]*\) s).*/\1/p')
  after=$(echo "$result" | sed -n 's/^shrunk \([0-9]*\) ops to \([0-9]*\) ops.*/\2/p')
  say "  $bug $seed: ${result#shrunk }"
  if [ -n "$before" ] && [ -n "$after" ]; then
    total_before=$((total_before + before)) total_after=$((total_after + after)) n=$((n + 1))
  fi
done
if [ "$n" -gt 0 ]; then
  say "shrink: $n traces, $total_before ops -> $total_after ops in all; mean $((total_before / n)) -> $(awk "BEGIN { printf \"%.1f\", $total_after / $n }") ops; ratio $(awk "BEGIN { printf \"%.3f\", $total_after / $total_before }")"
fi

# 4. Interval tree micro-benchmarks.
build/release/bench/interval_tree_bench --benchmark_min_time=0.2 2>/dev/null | tee -a "$summary"
echo "bench: summary in $summary"
