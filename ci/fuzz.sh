#!/usr/bin/env bash
# A time-boxed coverage-guided fuzzing campaign, as CI runs it.
#
#   ci/fuzz.sh [--seconds N] [--engine libfuzzer|afl] [--plain] [--no-minimize]
#
# Builds the target (ci/fuzz-build.sh), fuzzes from corpus/seed plus the work corpus in
# fuzz-work/ENGINE/corpus (kept between runs, not committed), then minimizes the work
# corpus (unless --no-minimize: a CI machine throws it away anyway). On a finding it
# shrinks the crash file to a trace in findings/ with `rmapcheck shrink --from-bytes`,
# prints it, and exits 1.
#
# Environment:
#   RMAPCHECK       the rmapcheck program used to shrink findings (default: built from the
#                   release preset when first needed)
#   RMAPCHECK_BUGS  comma-separated bug-zoo switches (impl/bugs.hpp) for both the target
#                   and the shrinker: fuzz a deliberately broken implementation
# Exit: 0 no finding, 1 a finding (shrunk trace in findings/), 2 usage or build error.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=300
engine=libfuzzer
plain=()
minimize=1
while [ $# -gt 0 ]; do
  case "$1" in
    --no-minimize) minimize=0; shift ;;
    --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
    --engine) engine="${2:?--engine needs libfuzzer or afl}"; shift 2 ;;
    --plain) plain=(--plain); shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "fuzz: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$seconds" in ''|*[!0-9]*) echo "fuzz: --seconds needs a whole number" >&2; exit 2 ;; esac

work="fuzz-work/$engine"
mkdir -p "$work/corpus" "$work/crashes" findings
echo "fuzz: building the $engine target (log: $work/build.log)"
if ! ci/fuzz-build.sh --engine "$engine" "${plain[@]}" >"$work/build.log" 2>&1; then
  tail -n 30 "$work/build.log" >&2
  echo "fuzz: build failed" >&2
  exit 2
fi
mapfile -t built < <(tail -n 2 "$work/build.log")

# The shrunk trace of one crash file into findings/; prints it.
shrink_crash() {
  local crash="$1" name rmapcheck bug_flags=()
  name="findings/fuzz-$engine-$(sha1sum "$crash" | cut -c1-12).trace"
  rmapcheck="${RMAPCHECK:-}"
  if [ -z "$rmapcheck" ]; then
    ci/configure.sh release >/dev/null && cmake --build --preset release -j "${JOBS:-2}" --target rmapcheck >/dev/null
    rmapcheck=build/release/tools/rmapcheck
  fi
  IFS=, read -r -a bugs <<< "${RMAPCHECK_BUGS:-}"
  for b in "${bugs[@]}"; do [ -n "$b" ] && bug_flags+=(--bug "$b"); done
  echo "fuzz: finding in $crash; shrinking it"
  "$rmapcheck" shrink --from-bytes "$crash" -o "$name" "${bug_flags[@]}" || true
  if [ -f "$name" ]; then
    echo "--- $name"
    cat "$name"
    echo "fuzz: reproduce with: $rmapcheck replay $name${bug_flags[*]:+ ${bug_flags[*]}}"
  fi
}

run_libfuzzer() {
  local target="${built[-1]}" status=0
  # -timeout: a hang is a finding too; -rss_limit_mb bounds the memory of one run.
  # -entropic_feature_frequency_threshold: see the README's Fuzzing section.
  "$target" -max_total_time="$seconds" -dict=fuzz/rmapcheck.dict -max_len=4096 -timeout=20 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/crashes/" \
    -entropic_feature_frequency_threshold=32 \
    "$work/corpus" corpus/seed 2>"$work/fuzz.log" || status=$?
  grep -E '^(stat::|Done)' "$work/fuzz.log" || true
  if [ "$status" -ne 0 ]; then
    local crash
    crash=$(ls -t "$work"/crashes/* 2>/dev/null | head -n 1 || true)
    if [ -z "$crash" ]; then
      echo "fuzz: libFuzzer failed (status $status) without a crash file; see $work/fuzz.log" >&2
      tail -n 20 "$work/fuzz.log" >&2
      exit 2
    fi
    grep -A 40 -E '^(divergence|crash|model crash|==[0-9]+==ERROR)' "$work/fuzz.log" | head -n 40 || true
    shrink_crash "$crash"
    exit 1
  fi
  [ "$minimize" = 1 ] || return 0
  # Minimize: keep only inputs that add coverage.
  rm -rf "$work/corpus.min" && mkdir -p "$work/corpus.min"
  "$target" -merge=1 -max_len=4096 "$work/corpus.min" "$work/corpus" >"$work/merge.log" 2>&1
  rm -rf "$work/corpus" && mv "$work/corpus.min" "$work/corpus"
  echo "fuzz: work corpus minimized to $(ls "$work/corpus" | wc -l) inputs"
}

run_afl() {
  local target="${built[0]}" mutator="${built[1]}" seeds="$work/seeds" out="$work/out" status=0 crash
  rm -rf "$seeds" "$out" && mkdir -p "$seeds"
  cp corpus/seed/* "$seeds/"
  cp "$work/corpus/"* "$seeds/" 2>/dev/null || true
  # What afl-fuzz needs on a CI machine: no UI, no CPU-governor or core_pattern checks,
  # stop at the first crash, our op-level mutator beside AFL++'s own havoc.
  AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 \
    AFL_BENCH_UNTIL_CRASH=1 AFL_FAST_CAL=1 AFL_CUSTOM_MUTATOR_LIBRARY="$PWD/$mutator" \
    afl-fuzz -i "$seeds" -o "$out" -V "$seconds" -x fuzz/rmapcheck.dict -t 20000 -- "$target" \
    >"$work/fuzz.log" 2>&1 || status=$?
  # afl-fuzz skips a seed that crashes (and gives up if all do); that is a finding too.
  crash=$(sed -n "s/.*Test case '\([^']*\)' results in a crash.*/\1/p" "$work/fuzz.log" | head -n 1)
  [ -n "$crash" ] && crash="$seeds/$(basename "$crash")"
  if [ -z "$crash" ] && [ "$status" -ne 0 ]; then
    echo "fuzz: afl-fuzz failed (status $status); see $work/fuzz.log" >&2
    tail -n 20 "$work/fuzz.log" >&2
    exit 2
  fi
  grep -E '^(execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|stability)' \
    "$out/default/fuzzer_stats" 2>/dev/null || true
  [ -z "$crash" ] && crash=$(ls "$out"/default/crashes/id:* 2>/dev/null | head -n 1 || true)
  if [ -n "$crash" ]; then
    cp "$crash" "$work/crashes/"
    shrink_crash "$crash"
    exit 1
  fi
  [ "$minimize" = 1 ] || return 0
  # Minimize: afl-cmin keeps the smallest inputs that cover every edge seen.
  rm -rf "$work/corpus.min"
  # AFL_ALLOW_TMP: afl-cmin refuses any path under /tmp (shared-directory races); ours
  # are private to the checkout, which may well be under /tmp on a CI machine.
  if AFL_NO_AFFINITY=1 AFL_ALLOW_TMP=1 afl-cmin -i "$out/default/queue" -o "$work/corpus.min" -t 20000 -- "$target" >"$work/cmin.log" 2>&1; then
    rm -rf "$work/corpus" && mv "$work/corpus.min" "$work/corpus"
  else
    echo "fuzz: afl-cmin failed (see $work/cmin.log); keeping the whole queue" >&2
    cp "$out"/default/queue/id:* "$work/corpus/" 2>/dev/null || true
  fi
  echo "fuzz: work corpus minimized to $(ls "$work/corpus" | wc -l) inputs"
}

case "$engine" in
  libfuzzer) run_libfuzzer ;;
  afl) run_afl ;;
  *) echo "fuzz: unknown engine $engine (libfuzzer or afl)" >&2; exit 2 ;;
esac
