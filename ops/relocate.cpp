#include "ops/relocate.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "ops/byte_format.hpp"
#include "ops/op_layout.hpp"

namespace ops {

namespace {

// Hands every address operand of an op to f; other operands are left alone.
template <class F>
class Addresses {
 public:
  explicit Addresses(F f) : f_(f) {}
  template <class T>
  void number(T& field, bytes::Role role, std::string_view) {
    if constexpr (std::is_same_v<T, Vpn>) {
      if (role == bytes::Role::vpn_mapped || role == bytes::Role::vpn_fresh) f_(field);
    }
  }
  void mmap_flags(Mmap&) {}
  void mremap_flags(Mremap&) {}
  void pin_mode(bool&) {}
  void prot(Prot&) {}
  void advice(Advice&) {}

 private:
  F f_;
};

template <class F>
void for_each_address(Op& op, F f) {
  Addresses<F> io(f);
  bytes::walk_op(io, op);
}

}  // namespace

Vpn lowest_aligned_address(std::span<const Op> ops, uint64_t align) {
  Vpn lowest = std::numeric_limits<Vpn>::max();
  for (Op op : ops) for_each_address(op, [&](Vpn v) { lowest = std::min(lowest, v); });
  if (lowest == std::numeric_limits<Vpn>::max()) return 0;
  return lowest - lowest % std::max<uint64_t>(align, 1);
}

std::vector<Op> move_addresses_down(std::span<const Op> ops, Vpn delta) {
  if (delta > lowest_aligned_address(ops, 1))
    throw std::invalid_argument("move_addresses_down: an address would go below 0");
  std::vector<Op> out(ops.begin(), ops.end());
  for (Op& op : out) for_each_address(op, [delta](Vpn& v) { v -= delta; });
  return out;
}

}  // namespace ops
