#include "fuzz/custom_mutator.hpp"

#include <algorithm>
#include <span>
#include <vector>

#include "ops/decode.hpp"
#include "ops/mutate.hpp"
#include "ops/world_byte.hpp"

namespace fuzz {

namespace {

const ops::Limits& world() {
  static const ops::Limits limits = ops::campaign_limits();
  return limits;
}

// The input's world byte (THP, exec_only) stays as it is; the ops after it are mutated.
// They are decoded and encoded in the campaign world either way: neither choice changes
// the byte form.
ops::FuzzInput decode(const uint8_t* data, size_t size) {
  return ops::decode_input(std::span<const uint8_t>(data, size), world());
}

// The world byte, then as many leading ops as fit in max_size bytes. Encoding is op by
// op (the byte form of a sequence is the concatenation of its ops' forms), so the cut
// is exact. Nothing fits in 0 bytes.
size_t encode_into(const ops::FuzzInput& in, uint8_t* out, size_t max_size) {
  if (max_size == 0) return 0;
  out[0] = ops::world_byte(in.limits);
  size_t size = 1;
  for (const ops::Op& op : in.ops) {
    const std::vector<uint8_t> one = ops::encode(std::span<const ops::Op>(&op, 1), world());
    if (size + one.size() > max_size) break;
    std::copy(one.begin(), one.end(), out + size);
    size += one.size();
  }
  return size;
}

}  // namespace

size_t mutate_input(uint8_t* data, size_t size, size_t max_size, uint64_t seed) {
  ops::FuzzInput in = decode(data, size);
  ops::MutationRng rng(seed);
  const unsigned rounds = 1 + unsigned(rng() % 4);
  for (unsigned i = 0; i < rounds; ++i) ops::mutate(in.ops, world(), rng);
  return encode_into(in, data, max_size);
}

size_t cross_over(const uint8_t* a, size_t a_size, const uint8_t* b, size_t b_size, uint8_t* out,
                  size_t max_out, uint64_t seed) {
  ops::MutationRng rng(seed);
  ops::FuzzInput first = decode(a, a_size);  // its world, the second's ops spliced in
  first.ops = ops::splice(first.ops, decode(b, b_size).ops, world(), rng);
  return encode_into(first, out, max_out);
}

}  // namespace fuzz
