#pragma once
// Internal to ops/: the constants of the fuzz byte format (see FORMAT.md), shared by
// the decoder, the encoder and within_limits so that the three cannot drift apart.

#include <array>
#include <cstdint>
#include <limits>
#include <numeric>

#include "ops/limits.hpp"
#include "ops/op.hpp"

namespace ops::bytes {

// An operand byte at or above this is followed by a literal: an LEB128 varint (at most
// 10 bytes, bits past 64 dropped) that is reduced into the operand's span.
inline constexpr uint8_t literal = 0xF0;

// Share of each op kind among the 256 values of the kind byte, in variant order.
// Reads, writes, mmap and fork dominate; madvise (a third of it mergeable, see the
// decoder) and ksm come often enough that KSM finds mergeable pages to merge.
inline constexpr std::array<uint16_t, op_kind_count> kind_weights = {
    16,  // fork
    6,   // exit
    30,  // mmap
    10,  // munmap
    10,  // mprotect
    10,  // mremap
    8,   // mlock
    6,   // munlock
    24,  // madvise
    28,  // read
    40,  // write
    10,  // pin
    6,   // readpin
    6,   // writepin
    6,   // unpin
    6,   // fwrite
    4,   // ftruncate
    12,  // reclaim
    6,   // migrate
    8,   // ksm
    4,   // split
};
static_assert(std::accumulate(kind_weights.begin(), kind_weights.end(), 0) == 256);

// The first kind byte value that selects `kind`.
constexpr uint8_t kind_byte(unsigned kind) {
  return uint8_t(std::accumulate(kind_weights.begin(), kind_weights.begin() + kind, 0));
}

// The kind each of the 256 kind bytes selects, for weights (summing to 256) in variant
// order: the first weights[0] bytes the first kind, and so on.
constexpr std::array<uint8_t, 256> kinds_by_weight(const std::array<uint16_t, op_kind_count>& weights) {
  std::array<uint8_t, 256> table{};
  size_t b = 0;
  for (unsigned kind = 0; kind < op_kind_count; ++kind)
    for (unsigned i = 0; i < weights[kind] && b < table.size(); ++i) table[b++] = uint8_t(kind);
  return table;
}

// The kind a kind byte selects, by table lookup.
inline constexpr auto kinds_by_byte = kinds_by_weight(kind_weights);

// mmap flags byte: bit 0 file, bit 1 shared, bits 2-3 both set populate, bits 4-5 both
// set locked (so populate and locked each come up a quarter of the time).
inline constexpr uint8_t mmap_file = 0x01, mmap_shared = 0x02, mmap_populate = 0x0c,
                         mmap_locked = 0x30;
// mremap flags byte: bits 0-1 both set: `to VPN2` follows; bits 2-3 both set: dontunmap.
inline constexpr uint8_t mremap_to = 0x03, mremap_dontunmap = 0x0c;
// prot byte: below 0x80 the low three bits are the prot; from 0x80 on, rw.
inline constexpr uint8_t prot_literal_below = 0x80;

// The inclusive range of values an operand may take within the limits.
struct Span {
  uint64_t lo, hi;
  bool contains(uint64_t v) const { return v >= lo && v <= hi; }
};

inline Span pid_span(const Limits& l) { return {1, l.max_processes}; }
inline Span vpn_span(const Limits& l) { return {0, l.address_space - 1}; }
inline Span pages_span(const Limits& l) { return {0, l.address_space}; }
inline Span value_span() { return {0, std::numeric_limits<uint64_t>::max()}; }
inline Span file_span(const Limits& l) { return {0, l.files - 1}; }
inline Span pgoff_span(const Limits& l) { return {0, l.max_file_pages}; }
inline Span truncate_span(const Limits& l) { return {0, l.max_file_pages + 1}; }
inline Span pin_span() { return {1, 65535}; }
inline Span frames_span(const Limits& l) { return {0, l.frames}; }

// A literal x names lo + x mod (hi - lo + 1); the encoder writes v - lo.
inline uint64_t from_literal(uint64_t x, Span s) {
  uint64_t width = s.hi - s.lo;
  return width == std::numeric_limits<uint64_t>::max() ? x : s.lo + x % (width + 1);
}
inline uint64_t to_literal(uint64_t v, Span s) { return v - s.lo; }

}  // namespace ops::bytes

namespace ops::bytes {

// What a numeric operand means, which decides its span and how the decoder biases it.
enum class Role : uint8_t {
  pid,             // a live pid
  exit_pid,        // a live pid, but not the last one
  vpn_mapped,      // inside a recently mapped range
  vpn_fresh,       // a spread-out H-aligned place, for new mappings
  pages,           // a page count
  value,           // a value to store
  file,            // a file id
  pgoff,           // a page offset in a file
  truncate_pages,  // a file size
  pin_id,          // a pin handed out earlier
  frames,          // a reclaim target
};

inline Span span_of(Role role, const Limits& l) {
  switch (role) {
    case Role::pid:
    case Role::exit_pid:
      return pid_span(l);
    case Role::vpn_mapped:
    case Role::vpn_fresh:
      return vpn_span(l);
    case Role::pages:
      return pages_span(l);
    case Role::value:
      return value_span();
    case Role::file:
      return file_span(l);
    case Role::pgoff:
      return pgoff_span(l);
    case Role::truncate_pages:
      return truncate_span(l);
    case Role::pin_id:
      return pin_span();
    case Role::frames:
      return frames_span(l);
  }
  return value_span();
}

}  // namespace ops::bytes
