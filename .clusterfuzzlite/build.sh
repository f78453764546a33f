#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build: $CXX, $CXXFLAGS, $LIB_FUZZING_ENGINE and $OUT come
# from the builder. The same script runs locally, e.g.
#   CXX=clang++ CXXFLAGS="-fsanitize=address,fuzzer-no-link" \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=/tmp/out .clusterfuzzlite/build.sh
cd "$(dirname "$0")/.."
[ -f ci/fuzz-build.sh ] || cd "$SRC/rmapcheck"
ci/fuzz-build.sh --cflite
