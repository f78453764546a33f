#pragma once
// A fuzz input: one world byte, then the ops (ops/FORMAT.md). The world byte picks what
// `rmapcheck run` varies by seed, so that the fuzzers search the same worlds the
// campaign does: bit 0 set is THP "always" (else huge pages need `hugepage` advice),
// bit 1 set is exec_only (PROT_EXEC alone is execute-only). The other bits are ignored,
// so every byte is a world and every byte string is an input; an empty one is the base
// world with no ops.

#include <cstdint>
#include <span>
#include <vector>

#include "ops/limits.hpp"
#include "ops/op.hpp"

namespace ops {

struct FuzzInput {
  Limits limits;  // the base world with the world byte's choices
  std::vector<Op> ops;
};

// `base` with the choices of `world` applied.
Limits with_world_byte(Limits base, uint8_t world);
// The world byte that gives `limits`' choices.
uint8_t world_byte(const Limits& limits);

// Total, like decode(): throws std::invalid_argument only for a `base` that fails
// validate_limits.
FuzzInput decode_input(std::span<const uint8_t> bytes, const Limits& base);
// The world byte of `limits`, then encode(ops, limits); throws what encode() throws.
std::vector<uint8_t> encode_input(std::span<const Op> ops, const Limits& limits);

}  // namespace ops
