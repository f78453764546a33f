#!/usr/bin/env bash
# Builds the fuzz targets; shared by ci/fuzz.sh, ci/bench.sh and
# .clusterfuzzlite/build.sh, so that CI, benchmarks and ClusterFuzzLite fuzz the same code.
#
#   ci/fuzz-build.sh [--engine libfuzzer|afl] [--plain]
#     libfuzzer          build/clang-debug/fuzz/rmapcheck_fuzz (ASan+UBSan, -O1; the objects
#                        `make test` built for ctest, when it ran first)
#     libfuzzer --plain  build/fuzz-plain/fuzz/rmapcheck_fuzz  (no sanitizers, -O2: speed)
#     afl                build/afl/fuzz/rmapcheck_afl          (afl-clang-fast++, -O2, persistent)
#                        + build/release/fuzz/librmapcheck_afl_mutator.so (custom mutator)
#   ci/fuzz-build.sh --cflite
#     ClusterFuzzLite / OSS-Fuzz style: compiler and flags from $CXX, $CXXFLAGS and
#     $LIB_FUZZING_ENGINE, build tree build/cflite, and the target, its dictionary,
#     options and seed corpus copied into $OUT.
# The path of each target built is printed on the last lines.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

engine=libfuzzer
plain=0
cflite=0
while [ $# -gt 0 ]; do
  case "$1" in
    --engine) engine="${2:?--engine needs libfuzzer or afl}"; shift 2 ;;
    --plain) plain=1; shift ;;
    --cflite) cflite=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "fuzz-build: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

jobs="${JOBS:-2}"

build_preset() {  # preset target...
  local preset="$1"; shift
  ci/configure.sh "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs" --target "$@"
}

if [ "$cflite" = 1 ]; then
  : "${OUT:?--cflite needs \$OUT}" "${CXX:?--cflite needs \$CXX}" "${LIB_FUZZING_ENGINE:?--cflite needs \$LIB_FUZZING_ENGINE}"
  cmake -S . -B build/cflite -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$CXX" \
    -DCMAKE_CXX_FLAGS="${CXXFLAGS:-}" -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g" \
    -DRMAPCHECK_FUZZ_ENGINE=libfuzzer -DRMAPCHECK_FUZZ_LINK="$LIB_FUZZING_ENGINE" \
    -DRMAPCHECK_FMT_HEADER_ONLY=ON -DRMAPCHECK_WERROR=OFF >/dev/null
  cmake --build build/cflite -j "$jobs" --target rmapcheck_fuzz
  mkdir -p "$OUT"
  cp build/cflite/fuzz/rmapcheck_fuzz "$OUT/"
  cp fuzz/rmapcheck.dict "$OUT/rmapcheck_fuzz.dict"
  printf '[libfuzzer]\ndict = rmapcheck_fuzz.dict\nmax_len = 4096\nentropic_feature_frequency_threshold = 32\n' \
    > "$OUT/rmapcheck_fuzz.options"
  rm -f "$OUT/rmapcheck_fuzz_seed_corpus.zip"
  (cd corpus/seed && zip -q -r "$OUT/rmapcheck_fuzz_seed_corpus.zip" .) 2>/dev/null ||
    python3 -c 'import os,sys,zipfile
z=zipfile.ZipFile(sys.argv[1],"w")
[z.write(os.path.join("corpus/seed",f),f) for f in sorted(os.listdir("corpus/seed"))]' "$OUT/rmapcheck_fuzz_seed_corpus.zip"
  echo "$OUT/rmapcheck_fuzz"
  exit 0
fi

ci/setup-deps.sh  # clang, libclang-rt-14-dev, afl++: installed only when missing

case "$engine" in
  libfuzzer)
    preset=clang-debug
    [ "$plain" = 1 ] && preset=fuzz-plain
    build_preset "$preset" rmapcheck_fuzz
    echo "build/$preset/fuzz/rmapcheck_fuzz"
    ;;
  afl)
    [ "$plain" = 1 ] || true  # the afl preset is already the plain one; AFL_USE_ASAN=1 adds ASan
    build_preset afl rmapcheck_afl
    build_preset release rmapcheck_afl_mutator
    echo "build/afl/fuzz/rmapcheck_afl"
    echo "build/release/fuzz/librmapcheck_afl_mutator.so"
    ;;
  *) echo "fuzz-build: unknown engine $engine (libfuzzer or afl)" >&2; exit 2 ;;
esac
