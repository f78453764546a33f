// The op-level custom mutator as an AFL++ custom mutator library, loaded by afl-fuzz
// through AFL_CUSTOM_MUTATOR_LIBRARY. afl-fuzz is neither instrumented nor sanitized,
// so this is built by a plain build (the `release` preset), not the `afl` one.
// AFL++ still runs its own havoc stage beside it (unless AFL_CUSTOM_MUTATOR_ONLY=1).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "fuzz/custom_mutator.hpp"

namespace {

struct State {
  std::mt19937_64 rng;
  std::vector<uint8_t> out;
};

}  // namespace

extern "C" {

void* afl_custom_init(void* /*afl*/, unsigned int seed) { return new State{std::mt19937_64(seed), {}}; }

// A quarter of the time a crossover with the other test case AFL++ offers.
size_t afl_custom_fuzz(void* data, uint8_t* buf, size_t buf_size, uint8_t** out_buf, uint8_t* add_buf,
                       size_t add_buf_size, size_t max_size) {
  auto* state = static_cast<State*>(data);
  const uint64_t seed = state->rng();
  state->out.resize(std::max<size_t>(max_size, 1));
  size_t size;
  if (add_buf != nullptr && seed % 4 == 0) {
    size = fuzz::cross_over(buf, buf_size, add_buf, add_buf_size, state->out.data(), max_size, seed);
  } else {
    std::copy(buf, buf + std::min(buf_size, max_size), state->out.begin());
    size = fuzz::mutate_input(state->out.data(), std::min(buf_size, max_size), max_size, seed);
  }
  *out_buf = state->out.data();
  return size;
}

const char* afl_custom_describe(void* /*data*/, size_t /*max_description_len*/) { return "rmapcheck-ops"; }

void afl_custom_deinit(void* data) { delete static_cast<State*>(data); }

}  // extern "C"
