#pragma once
// What every fuzz target does with one input: decode the bytes in the fuzzers' world
// (ops::campaign_limits(), with THP and exec_only as the input's world byte picks them:
// ops/world_byte.hpp), run the ops through check::Runner, and on a finding print
// it readably (text, then the trace that replays it) and abort, so that the engine
// saves the input as a crash file. `rmapcheck shrink --from-bytes CRASH` turns that file
// into a short trace.

#include <cstdint>
#include <span>

#include "impl/bugs.hpp"

namespace fuzz {

// The injected bugs named in RMAPCHECK_BUGS (comma-separated names from impl/bugs.hpp),
// read once. Empty: the clean implementation. An unknown name is a usage error: it is
// printed and the process exits with status 2 rather than fuzzing the wrong thing.
const impl::Bugs& bugs_from_env();

// Runs one input. Returns normally when the run finds nothing.
void run_input(std::span<const uint8_t> bytes);

}  // namespace fuzz
