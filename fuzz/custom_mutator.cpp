#include "fuzz/custom_mutator.hpp"

#include <algorithm>
#include <span>
#include <vector>

#include "ops/decode.hpp"
#include "ops/mutate.hpp"

namespace fuzz {

namespace {

const ops::Limits& world() {
  static const ops::Limits limits = ops::campaign_limits();
  return limits;
}

std::vector<ops::Op> decode(const uint8_t* data, size_t size) {
  return ops::decode(std::span<const uint8_t>(data, size), world());
}

// Encodes as many leading ops as fit in max_size bytes. Encoding is op by op (the byte
// form of a sequence is the concatenation of its ops' forms), so the cut is exact.
size_t encode_into(const std::vector<ops::Op>& ops, uint8_t* out, size_t max_size) {
  size_t size = 0;
  for (const ops::Op& op : ops) {
    const std::vector<uint8_t> one = ops::encode(std::span<const ops::Op>(&op, 1), world());
    if (size + one.size() > max_size) break;
    std::copy(one.begin(), one.end(), out + size);
    size += one.size();
  }
  return size;
}

}  // namespace

size_t mutate_input(uint8_t* data, size_t size, size_t max_size, uint64_t seed) {
  std::vector<ops::Op> ops = decode(data, size);
  ops::MutationRng rng(seed);
  const unsigned rounds = 1 + unsigned(rng() % 4);
  for (unsigned i = 0; i < rounds; ++i) ops::mutate(ops, world(), rng);
  return encode_into(ops, data, max_size);
}

size_t cross_over(const uint8_t* a, size_t a_size, const uint8_t* b, size_t b_size, uint8_t* out,
                  size_t max_out, uint64_t seed) {
  ops::MutationRng rng(seed);
  return encode_into(ops::splice(decode(a, a_size), decode(b, b_size), world(), rng), out, max_out);
}

}  // namespace fuzz
