#pragma once
// A trace records the limits it was made with in one comment line, so a replay runs on
// the same machine it was found on:
//
//   # limits: hpage_order=9 frames=64 thp_always=1
//
// Keys are the field names of Limits; only fields that differ from the defaults are
// written. Numbers are decimal or 0x-hex (address_space is written in hex);
// thp_always, file_pages_cached and exec_only are 0 or 1.

#include <string>

#include "ops/limits.hpp"
#include "ops/trace.hpp"

namespace ops {

// "# limits: k=v ..." for the fields that differ from Limits{}; "" when none do.
std::string limits_comment(const Limits& limits);

// `base` with the settings of the first comment-only line starting "# limits:" applied
// (`base` itself if there is none). Unknown key, repeated key, or a value that is not a
// number of the field's type -> ParseError at that key. Does not validate; see below.
Limits limits_from_trace(const Trace& trace, Limits base);

// Throws std::invalid_argument naming the field and the allowed range unless:
//   hpage_order         in [1, 12]
//   max_processes       in [1, 64]
//   max_vmas            in [1, 65536]
//   address_space       in [2^hpage_order, 2^32] and a multiple of 2^hpage_order
//   max_pages           in [1, address_space]
//   frames              in [1, 2^20]
//   swap_slots          in [0, 2^20]
//   files               in [1, 64]
//   initial_file_pages  in [0, max_file_pages]
//   max_file_pages      in [1, 2^20]
//   max_pins            in [0, 65535]   (pin ids are 1..65535)
//   max_ops             in [0, 2^20]
// The caps keep every structure small enough to scan naively (the model does) and keep
// the decoder's arithmetic far from overflow.
void validate_limits(const Limits& limits);

}  // namespace ops
