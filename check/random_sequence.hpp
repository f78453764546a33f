#pragma once
// The op sequences of a random campaign: each one a pure function of a 64-bit seed
// (random bytes through the fuzz decoder, which biases them toward live pids, mapped
// addresses and existing pins), so that a seed alone reproduces a finding.

#include <cstdint>
#include <vector>

#include "ops/limits.hpp"
#include "ops/op.hpp"

namespace check {

// Up to limits.max_ops ops.
std::vector<ops::Op> random_sequence(uint64_t seed, const ops::Limits& limits);

}  // namespace check
