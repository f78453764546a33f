// Ops -> fuzz bytes, the exact inverse of decode for ops within the limits. Every
// operand is written in its literal form, which does not depend on the decoder's
// shadow, so the encoder need not replay what the decoder would have guessed.

#include <string>

#include "ops/byte_format.hpp"
#include "ops/decode.hpp"
#include "ops/limits_text.hpp"
#include "ops/op_layout.hpp"

namespace ops {

namespace {

class Encoder {
 public:
  Encoder(std::vector<uint8_t>& out, const Limits& limits) : out_(out), limits_(limits) {}

  template <class T>
  void number(T& field, bytes::Role role, std::string_view) {
    out_.push_back(bytes::literal);
    varint(bytes::to_literal(uint64_t(field), bytes::span_of(role, limits_)));
  }

  void mmap_flags(Mmap& m) {
    uint8_t b = 0;
    if (m.backing == Backing::file) b |= bytes::mmap_file;
    if (m.shared) b |= bytes::mmap_shared;
    if (m.populate) b |= bytes::mmap_populate;
    if (m.locked) b |= bytes::mmap_locked;
    out_.push_back(b);
  }

  void mremap_flags(Mremap& m) {
    uint8_t b = 0;
    if (m.to) b |= bytes::mremap_to;
    if (m.dontunmap) b |= bytes::mremap_dontunmap;
    out_.push_back(b);
  }

  void pin_mode(bool& write) { out_.push_back(write ? 1 : 0); }
  void prot(Prot& p) { out_.push_back(uint8_t(p)); }  // below prot_literal_below: as is
  void advice(Advice& a) { out_.push_back(uint8_t(a)); }

 private:
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(uint8_t(v | 0x80));
      v >>= 7;
    }
    out_.push_back(uint8_t(v));
  }

  std::vector<uint8_t>& out_;
  const Limits& limits_;
};

}  // namespace

std::vector<uint8_t> encode(std::span<const Op> ops, const Limits& limits) {
  validate_limits(limits);
  if (ops.size() > limits.max_ops) {
    throw EncodeError("encode: " + std::to_string(ops.size()) + " ops, more than max_ops " +
                      std::to_string(limits.max_ops));
  }
  std::vector<uint8_t> out;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (auto why = limits_violation(ops[i], limits)) {
      throw EncodeError("encode: op " + std::to_string(i) + " (" + std::string(op_name(ops[i])) +
                        "): " + *why);
    }
    out.push_back(bytes::kind_byte(unsigned(ops[i].index())));
    Op op = ops[i];  // walk_op hands out mutable operands; the encoder only reads them
    Encoder encoder(out, limits);
    bytes::walk_op(encoder, op);
  }
  return out;
}

}  // namespace ops
