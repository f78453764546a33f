#!/usr/bin/env bash
# Configures a CMake preset, as `cmake --preset NAME` does, after clearing a build
# directory an older checkout made with another generator: the presets build with
# Ninja, and CMake refuses to switch a build directory's generator.
#
#   ci/configure.sh PRESET [more cmake arguments]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
preset="${1:?usage: ci/configure.sh PRESET [cmake arguments]}"
shift
cache="build/$preset/CMakeCache.txt"
if [ -f "$cache" ] && ! grep -qx 'CMAKE_GENERATOR:INTERNAL=Ninja' "$cache"; then
  echo "configure: build/$preset was made with another generator; starting it afresh"
  rm -rf "build/$preset"
fi
cmake --preset "$preset" "$@"
