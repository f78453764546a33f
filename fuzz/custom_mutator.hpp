#pragma once
// The custom mutator both engines share: decode the input in the fuzzers' world, apply
// one to four op-level mutations (ops/mutate.hpp), encode again. decode(encode(ops)) ==
// ops, so the engine's next run executes exactly the mutated ops.

#include <cstddef>
#include <cstdint>

namespace fuzz {

// Mutates data[0, size) in place into at most max_size bytes; returns the new size.
// A pure function of the input and the seed.
size_t mutate_input(uint8_t* data, size_t size, size_t max_size, uint64_t seed);

// Crossover of two inputs into out (at most max_out bytes); returns its size.
size_t cross_over(const uint8_t* a, size_t a_size, const uint8_t* b, size_t b_size, uint8_t* out,
                  size_t max_out, uint64_t seed);

}  // namespace fuzz
