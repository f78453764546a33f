#include "check/random_sequence.hpp"

#include "ops/decode.hpp"

namespace check {
namespace {

// splitmix64: small, fast, and the same on every platform (std:: engines' output is,
// but their distributions are not).
uint64_t next(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

std::vector<ops::Op> random_sequence(uint64_t seed, const ops::Limits& limits) {
  uint64_t state = seed;
  // About eight bytes per op is what the decoder takes on average, with room to spare.
  std::vector<uint8_t> bytes(size_t{limits.max_ops} * 12);
  for (size_t i = 0; i < bytes.size(); i += 8) {
    uint64_t r = next(state);
    for (size_t j = 0; j < 8 && i + j < bytes.size(); ++j) bytes[i + j] = uint8_t(r >> (8 * j));
  }
  return ops::decode(bytes, limits);
}

}  // namespace check
