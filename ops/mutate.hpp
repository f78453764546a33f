#pragma once
// Op-level mutation for the coverage-guided fuzzers (fuzz/). A byte-level mutator
// mostly breaks an op sequence into a different, unrelated one; these mutations change
// one thing a person would change: insert an op that fits where it goes, remove ops,
// duplicate or swap them, nudge one operand to a nearby valid value. Every result is
// within the limits, so it encodes (ops/decode.hpp) and means what it says.

#include <cstdint>
#include <random>
#include <span>
#include <string_view>
#include <vector>

#include "ops/limits.hpp"
#include "ops/op.hpp"

namespace ops {

enum class Mutation : uint8_t {
  insert,     // a new op, decoded from random bytes after the ops before it (so biased
              // toward the pids, ranges and pins those created)
  erase,      // one op or a short run of ops
  duplicate,  // a copy of one op or a short run, placed anywhere
  swap,       // two ops trade places
  tweak,      // one operand: a nearby value, a value another op uses in the same role,
              // or another prot, advice, pin mode or flag
};
inline constexpr unsigned mutation_count = 5;
std::string_view mutation_name(Mutation m);

using MutationRng = std::mt19937_64;

// Applies `m` to `ops`, which must be within `limits`. Keeps them within the limits and
// at most limits.max_ops long (an insert into a full sequence replaces an op). A
// mutation that has nothing to work on (erase of nothing) leaves `ops` unchanged.
void mutate(Mutation m, std::vector<Op>& ops, const Limits& limits, MutationRng& rng);

// A mutation chosen by `rng`, applied; returns which.
Mutation mutate(std::vector<Op>& ops, const Limits& limits, MutationRng& rng);

// Crossover: a prefix of `a` followed by a suffix of `b`, cut to limits.max_ops.
std::vector<Op> splice(std::span<const Op> a, std::span<const Op> b, const Limits& limits,
                       MutationRng& rng);

}  // namespace ops
