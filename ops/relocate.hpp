#pragma once
// Moving a whole op sequence to lower addresses. A trace written for the default
// 4096-page address space (most of corpus/regressions starts at 0x100) fits the
// fuzzers' 256 pages once everything is moved down together by whole huge pages, which
// keeps every distance, every VMA adjacency and every huge-page alignment.

#include <span>
#include <vector>

#include "ops/op.hpp"

namespace ops {

// The largest multiple of `align` at or below every address the ops name (vpn operands
// and mremap `to`); 0 when they name none.
Vpn lowest_aligned_address(std::span<const Op> ops, uint64_t align);

// The ops with every address moved down by `delta`, which must be at most
// lowest_aligned_address(ops, 1).
std::vector<Op> move_addresses_down(std::span<const Op> ops, Vpn delta);

}  // namespace ops
