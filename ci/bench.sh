#!/usr/bin/env bash
# Speed figures of the harness (benchmarks, not tests: nothing here fails on a number).
#
#   ci/bench.sh [--seconds N] [--baseline REV] [--zoo-cap S] [--skip-shrink]
#
#   --seconds N     seconds of each timed measurement (default 30)
#   --baseline REV  also build the commit REV (a git worktree in build/bench/baseline)
#                   and measure every figure that has a target for both, in this one
#                   run, side by side
#   --zoo-cap S     give up on a bug-zoo finding after S seconds (default 60)
#   --skip-shrink   leave out the shrink ratios (the slowest part)
#
# Reports, for this tree (and the baseline):
#   1. runner ops/s: `rmapcheck run` in the campaign world (model + implementation +
#      every check), release build;
#   2. the same in the hpage_order 9 world (x86-64's huge pages);
#   3. libFuzzer exec/s of the plain (unsanitized, -O2) target from corpus/seed, and the
#      mean input length in ops it ran at;
#   4. seconds to the first finding of `rmapcheck run` with each bug-zoo switch on
#      (impl/bugs.hpp), from three seeds;
# and for this tree only:
#   5. shrink ratios: 10 failing traces made with bug-zoo switches, each shrunk;
#   6. the interval tree micro-benchmarks (Google Benchmark).
# Everything goes to stdout and to build/bench/summary.txt, the table of targets last.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=30
baseline=""
zoo_cap=60
shrink=1
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
    --baseline) baseline="${2:?--baseline needs a revision}"; shift 2 ;;
    --zoo-cap) zoo_cap="${2:?--zoo-cap needs a number}"; shift 2 ;;
    --skip-shrink) shrink=0; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

jobs="${JOBS:-2}"
out=build/bench
mkdir -p "$out"
summary="$out/summary.txt"
: >"$summary"
say() { echo "$*" | tee -a "$summary"; }

# Builds what the figures need in the source tree $1 (its own presets and scripts).
build_tree() {
  local dir="$1" log="$2"
  # The tree's own way to configure: ci/configure.sh where it has one.
  local configure="cmake --preset"
  [ -x "$dir/ci/configure.sh" ] && configure=ci/configure.sh
  (cd "$dir" && $configure release >/dev/null &&
    cmake --build --preset release -j "$jobs" --target rmapcheck &&
    ci/fuzz-build.sh --engine libfuzzer --plain) >"$log" 2>&1
}

trees=(.)
labels=("this tree $(git rev-parse --short HEAD 2>/dev/null || echo '?')")
if [ -n "$baseline" ]; then
  rev=$(git rev-parse --verify "$baseline^{commit}") || { echo "bench: no commit $baseline" >&2; exit 2; }
  base_dir="$out/baseline"
  if [ -d "$base_dir" ]; then
    git -C "$base_dir" checkout -q --detach "$rev"
  else
    git worktree add -q --detach "$base_dir" "$rev"
  fi
  trees=("$base_dir" .)
  labels=("baseline $(git rev-parse --short "$rev")" "${labels[0]}")
fi

for i in "${!trees[@]}"; do
  echo "bench: building ${labels[$i]} (log: $out/build-$i.log)"
  build_tree "${trees[$i]}" "$out/build-$i.log" || { tail -n 20 "$out/build-$i.log" >&2; exit 2; }
done
(cmake --build --preset release -j "$jobs" --target interval_tree_bench >>"$out/build-this.log" 2>&1)
rmapcheck=build/release/tools/rmapcheck

say "rmapcheck bench, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, ${seconds} s per timed figure"

# ops/s of `rmapcheck run` ARGS... with the program $1.
runner_ops() {
  local program="$1" line ops
  shift
  line=$("$program" run --time "$seconds" --seed 1 --quiet --findings "$out/findings" "$@" | tail -n 1)
  ops=$(echo "$line" | sed -n 's/^no finding: [0-9]* sequences, \([0-9]*\) ops.*/\1/p')
  if [ -n "$ops" ]; then echo $((ops / seconds)); else echo "? ($line)"; fi
}

# exec/s of the plain libFuzzer target under tree $1 from its corpus/seed; also the
# mean length of the inputs it kept, in ops.
fuzz_execs() {
  local target="$1/build/fuzz-plain/fuzz/rmapcheck_fuzz" work="$out/libfuzzer-corpus-$2" log="$out/libfuzzer-$2.log"
  rm -rf "$work" && mkdir -p "$work"
  # Each tree's target runs with the options its own ci/fuzz.sh gives it.
  local tuning=()
  grep -q entropic_feature_frequency_threshold=32 "$1/ci/fuzz.sh" && tuning=(-entropic_feature_frequency_threshold=32)
  # And from its own seed corpus: a seed that crashes the baseline (a bug found since)
  # would end its run at once.
  "$target" -max_total_time="$seconds" -print_final_stats=1 -dict="$1/fuzz/rmapcheck.dict" -max_len=4096 \
    "${tuning[@]}" "$work" "$1/corpus/seed" >"$log" 2>&1 || true
  local execs mean
  execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  mean=$(for f in "$work"/*; do "$rmapcheck" decode "$f" | grep -vc '^#'; done 2>/dev/null |
    awk '{ s += $1; n++ } END { if (n) printf "%.0f", s / n; else print "?" }')
  echo "${execs:-?} exec/s (inputs of $mean ops)"
}

# Seconds until `rmapcheck run --bug $2 --seed $3` reports a finding, with program $1.
seconds_to_finding() {
  local program="$1" bug="$2" seed="$3" start end status=0
  start=$(date +%s.%N)
  "$program" run --bug "$bug" --seed "$seed" --time "$zoo_cap" --quiet --findings "$out/zoo-findings" \
    >/dev/null 2>&1 || status=$?
  end=$(date +%s.%N)
  case "$status" in
    1) awk "BEGIN { printf \"%.2f\", $end - $start }" ;;
    0) echo ">$zoo_cap" ;;
    *) echo "n/a" ;;
  esac
}

declare -A figure
for i in "${!trees[@]}"; do
  program="${trees[$i]}/build/release/tools/rmapcheck"
  say "== ${labels[$i]}"
  figure[runner,$i]=$(runner_ops "$program")
  say "runner (campaign world): ${figure[runner,$i]} ops/s"
  figure[order9,$i]=$(runner_ops "$program" --hpage-order 9 --address-space 0x1000 --max-pages 0x800 \
    --max-vmas 0x800 --frames 2048)
  say "runner (hpage_order 9 world): ${figure[order9,$i]} ops/s"
  figure[fuzz,$i]=$(fuzz_execs "${trees[$i]}" "$i")
  say "libFuzzer (plain, from corpus/seed): ${figure[fuzz,$i]}"
done

bugs=$(sed -n 's/^ *{"\([a-z_]*\)", &Bugs::.*/\1/p' impl/bugs.hpp)
zoo_seeds=(1 10001 20001)
say "seconds to the first finding, seeds ${zoo_seeds[*]} (> $zoo_cap: none found):"
for bug in $bugs; do
  row=$(printf '  %-38s' "$bug")
  for i in "${!trees[@]}"; do
    times=()
    for seed in "${zoo_seeds[@]}"; do times+=("$(seconds_to_finding "${trees[$i]}/build/release/tools/rmapcheck" "$bug" "$seed")"); done
    row+=$(printf '  %-24s' "${times[*]}")
  done
  say "$row"
done
if [ ${#trees[@]} -gt 1 ]; then say "  (columns: ${labels[*]})"; fi

if [ "$shrink" = 1 ]; then
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
fi

build/release/bench/interval_tree_bench --benchmark_min_time=0.2 2>/dev/null | tee -a "$summary"

say ""
say "targets (issue 12):"
row() {  # name target key
  local line
  line=$(printf '  %-34s' "$1")
  for i in "${!trees[@]}"; do line+=$(printf '  %-30s' "${figure[$3,$i]}"); done
  say "$line  target $2"
}
header=$(printf '  %-34s' "figure")
for label in "${labels[@]}"; do header+=$(printf '  %-30s' "$label"); done
say "$header"
row "runner ops/s, campaign world" ">= 50000" runner
row "runner ops/s, hpage_order 9" ">= 2000" order9
row "libFuzzer, plain target" ">= 2000 exec/s" fuzz
say "  bug zoo: seconds to the first finding above, no slower than the baseline"
echo "bench: summary in $summary"
