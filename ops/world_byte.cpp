#include "ops/world_byte.hpp"

#include "ops/decode.hpp"

namespace ops {
namespace {

constexpr uint8_t thp_always_bit = 1;
constexpr uint8_t exec_only_bit = 2;

}  // namespace

Limits with_world_byte(Limits base, uint8_t world) {
  base.thp_always = (world & thp_always_bit) != 0;
  base.exec_only = (world & exec_only_bit) != 0;
  return base;
}

uint8_t world_byte(const Limits& limits) {
  return uint8_t((limits.thp_always ? thp_always_bit : 0) | (limits.exec_only ? exec_only_bit : 0));
}

FuzzInput decode_input(std::span<const uint8_t> bytes, const Limits& base) {
  FuzzInput in{with_world_byte(base, bytes.empty() ? 0 : bytes[0]), {}};
  in.ops = decode(bytes.empty() ? bytes : bytes.subspan(1), in.limits);
  return in;
}

std::vector<uint8_t> encode_input(std::span<const Op> ops, const Limits& limits) {
  std::vector<uint8_t> bytes{world_byte(limits)};
  const std::vector<uint8_t> rest = encode(ops, limits);
  bytes.insert(bytes.end(), rest.begin(), rest.end());
  return bytes;
}

}  // namespace ops
