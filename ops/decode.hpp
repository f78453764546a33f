#pragma once
// Fuzz input <-> ops. decode() is total: every byte string decodes to a valid op
// sequence within the limits, biased toward pids, addresses and pins that exist so
// that most ops do something. encode() is its inverse for ops within the limits:
// decode(encode(ops)) == ops.

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "ops/limits.hpp"
#include "ops/op.hpp"

namespace ops {

// The byte format is described in ops/FORMAT.md. Both functions require limits that
// pass validate_limits (ops/limits_text.hpp) and throw std::invalid_argument otherwise.
std::vector<Op> decode(std::span<const uint8_t> bytes, const Limits& limits);

struct EncodeError : std::runtime_error { using std::runtime_error::runtime_error; };
std::vector<uint8_t> encode(std::span<const Op> ops, const Limits& limits);  // throws EncodeError

// Whether an op's numbers all lie within the limits (the decoder only produces such ops).
// Like decode, these two throw std::invalid_argument for limits that fail validation.
bool within_limits(const Op& op, const Limits& limits);

// Why an op is not within the limits ("vpn 0x2000 is outside [0x0, 0xfff]"), or nothing.
// Within means: pid in [1, max_processes]; vpn and mremap `to` < address_space; page
// counts in [0, address_space]; file < files; pgoff <= max_file_pages; ftruncate size
// <= max_file_pages + 1; pin id in [1, 65535]; reclaim frames <= frames; prot within
// rwx; advice known; an anon mmap has file 0 and pgoff 0 (text cannot say otherwise).
std::optional<std::string> limits_violation(const Op& op, const Limits& limits);

}  // namespace ops
