// The libFuzzer target: one input is one op sequence (fuzz_input.hpp). Mutation is
// mostly op-level (custom_mutator.hpp); a quarter of the time libFuzzer's own byte
// mutations run instead, since only they use the dictionary and the comparison operands
// libFuzzer records, and they reach byte forms the op mutations never write (the
// decoder's biased operands).

#include <cstddef>
#include <cstdint>

#include "fuzz/custom_mutator.hpp"
#include "fuzz/fuzz_input.hpp"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::bugs_from_env();  // an unknown bug name stops the run before it starts
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::run_input({data, size});
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  if (seed % 4 == 0) return LLVMFuzzerMutate(data, size, max_size);
  return fuzz::mutate_input(data, size, max_size, seed);
}

extern "C" size_t LLVMFuzzerCustomCrossOver(const uint8_t* a, size_t a_size, const uint8_t* b, size_t b_size,
                                            uint8_t* out, size_t max_out, unsigned int seed) {
  return fuzz::cross_over(a, a_size, b, b_size, out, max_out, seed);
}
