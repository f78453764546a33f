// Op-level mutation. Operands are reached through the same walk (op_layout.hpp) the
// decoder and encoder use, so a tweak sees every operand with its role and span and
// cannot leave the limits.

#include "ops/mutate.hpp"

#include <algorithm>
#include <map>

#include "ops/byte_format.hpp"
#include "ops/decode.hpp"
#include "ops/op_layout.hpp"

namespace ops {

namespace {

using bytes::Role;
using bytes::Span;

uint64_t below(MutationRng& rng, uint64_t n) { return n == 0 ? 0 : rng() % n; }
bool coin(MutationRng& rng) { return rng() & 1; }

// vpn_mapped and vpn_fresh name the same kind of number; values flow between them.
Role pool_role(Role r) { return r == Role::vpn_fresh ? Role::vpn_mapped : r; }

// Every numeric operand of a sequence, by role: where a tweak borrows values, so that
// it tends to name a pid, address or pin that the sequence really uses.
class Collect {
 public:
  std::map<Role, std::vector<uint64_t>> pool;

  template <class T>
  void number(T& field, Role role, std::string_view) {
    pool[pool_role(role)].push_back(uint64_t(field));
  }
  void mmap_flags(Mmap&) {}
  void mremap_flags(Mremap&) {}
  void pin_mode(bool&) {}
  void prot(Prot&) {}
  void advice(Advice&) {}
};

// Counts an op's operands ("slots"): numbers, flags, modes, prots and advice alike.
class Count {
 public:
  unsigned slots = 0;
  template <class T>
  void number(T&, Role, std::string_view) { ++slots; }
  void mmap_flags(Mmap&) { ++slots; }
  void mremap_flags(Mremap&) { ++slots; }
  void pin_mode(bool&) { ++slots; }
  void prot(Prot&) { ++slots; }
  void advice(Advice&) { ++slots; }
};

// Changes slot number `target` of an op and nothing else.
class Tweak {
 public:
  Tweak(unsigned target, const Limits& limits, const std::map<Role, std::vector<uint64_t>>& pool,
        MutationRng& rng)
      : target_(target), limits_(limits), pool_(pool), rng_(rng) {}

  template <class T>
  void number(T& field, Role role, std::string_view) {
    if (hit()) field = T(nearby(uint64_t(field), role));
  }

  void mmap_flags(Mmap& m) {
    if (!hit()) return;
    switch (below(rng_, 4)) {
      case 0:
        m.backing = m.backing == Backing::anon ? Backing::file : Backing::anon;
        m.file = 0;  // an anon mmap carries neither; a new file mapping starts at file 0
        m.pgoff = 0;
        break;
      case 1: m.shared = !m.shared; break;
      case 2: m.populate = !m.populate; break;
      default: m.locked = !m.locked; break;
    }
  }

  void mremap_flags(Mremap& m) {
    if (!hit()) return;
    if (coin(rng_)) {
      m.dontunmap = !m.dontunmap;
    } else {
      m.to = m.to ? std::nullopt : std::optional<Vpn>(nearby(m.vpn, Role::vpn_fresh));
    }
  }

  void pin_mode(bool& write) {
    if (hit()) write = !write;
  }
  void prot(Prot& p) {
    if (hit()) p = Prot(below(rng_, 8));
  }
  void advice(Advice& a) {
    if (hit()) a = Advice(below(rng_, advice_count));
  }

 private:
  bool hit() { return slot_++ == target_; }

  // A value near `v` in the role's span: a step of a few, a huge page's worth, a value
  // another op uses in this role, the bottom of the span, or anything small.
  uint64_t nearby(uint64_t v, Role role) {
    const Span s = bytes::span_of(role, limits_);
    const uint64_t step = 1 + below(rng_, 4);
    switch (below(rng_, 6)) {
      case 0: return v >= s.hi - std::min(s.hi, step) ? s.hi : v + step;
      case 1: return v <= s.lo + step ? s.lo : v - step;
      case 2: {
        const uint64_t h = limits_.hpage_pages();
        return coin(rng_) ? (v >= s.hi - std::min(s.hi, h) ? s.hi : v + h) : (v <= s.lo + h ? s.lo : v - h);
      }
      case 3: {
        auto it = pool_.find(pool_role(role));
        if (it != pool_.end() && !it->second.empty()) return it->second[below(rng_, it->second.size())];
        return s.lo;
      }
      case 4: return s.lo;
      default: return std::min(s.hi, s.lo + below(rng_, 16));
    }
  }

  unsigned target_;
  unsigned slot_ = 0;
  const Limits& limits_;
  const std::map<Role, std::vector<uint64_t>>& pool_;
  MutationRng& rng_;
};

// A run [start, start + len) of 1 to 4 ops inside a sequence of n > 0.
std::pair<size_t, size_t> pick_run(size_t n, MutationRng& rng) {
  const size_t len = 1 + below(rng, std::min<size_t>(n, 4));
  return {below(rng, n - len + 1), len};
}

void erase(std::vector<Op>& ops, MutationRng& rng) {
  if (ops.empty()) return;
  auto [start, len] = pick_run(ops.size(), rng);
  ops.erase(ops.begin() + long(start), ops.begin() + long(start + len));
}

void duplicate(std::vector<Op>& ops, const Limits& limits, MutationRng& rng) {
  if (ops.empty() || ops.size() >= limits.max_ops) return;
  auto [start, len] = pick_run(ops.size(), rng);
  len = std::min<size_t>(len, limits.max_ops - ops.size());
  std::vector<Op> run(ops.begin() + long(start), ops.begin() + long(start + len));
  ops.insert(ops.begin() + long(below(rng, ops.size() + 1)), run.begin(), run.end());
}

void swap(std::vector<Op>& ops, MutationRng& rng) {
  if (ops.size() < 2) return;
  std::swap(ops[below(rng, ops.size())], ops[below(rng, ops.size())]);
}

// Decodes random bytes after the encoded prefix, so the new op is biased by the
// decoder's shadow of exactly the ops before it. Enough bytes for any op, literals
// included, so the op is never cut off.
void insert(std::vector<Op>& ops, const Limits& limits, MutationRng& rng) {
  if (limits.max_ops == 0) return;
  if (ops.size() >= limits.max_ops) ops.erase(ops.begin() + long(below(rng, ops.size())));
  const size_t at = below(rng, ops.size() + 1);
  std::vector<uint8_t> in = encode(std::span<const Op>(ops.data(), at), limits);
  for (int i = 0; i < 128; ++i) in.push_back(uint8_t(rng()));
  Limits upto = limits;
  upto.max_ops = unsigned(at + 1);
  std::vector<Op> decoded = decode(in, upto);
  if (decoded.size() == at + 1) ops.insert(ops.begin() + long(at), decoded.back());
}

void tweak(std::vector<Op>& ops, const Limits& limits, MutationRng& rng) {
  if (ops.empty()) return;
  Collect collect;
  for (Op& op : ops) bytes::walk_op(collect, op);
  Op& op = ops[below(rng, ops.size())];
  Count count;
  bytes::walk_op(count, op);
  if (count.slots == 0) return;  // ksm has no operands
  Tweak t(unsigned(below(rng, count.slots)), limits, collect.pool, rng);
  bytes::walk_op(t, op);
}

}  // namespace

std::string_view mutation_name(Mutation m) {
  switch (m) {
    case Mutation::insert: return "insert";
    case Mutation::erase: return "erase";
    case Mutation::duplicate: return "duplicate";
    case Mutation::swap: return "swap";
    case Mutation::tweak: return "tweak";
  }
  return "?";
}

void mutate(Mutation m, std::vector<Op>& ops, const Limits& limits, MutationRng& rng) {
  switch (m) {
    case Mutation::insert: return insert(ops, limits, rng);
    case Mutation::erase: return erase(ops, rng);
    case Mutation::duplicate: return duplicate(ops, limits, rng);
    case Mutation::swap: return swap(ops, rng);
    case Mutation::tweak: return tweak(ops, limits, rng);
  }
}

Mutation mutate(std::vector<Op>& ops, const Limits& limits, MutationRng& rng) {
  // Tweaks and inserts are what find new behaviour; removals keep inputs short.
  static constexpr Mutation weighted[] = {
      Mutation::insert, Mutation::insert, Mutation::insert, Mutation::erase,  Mutation::erase,
      Mutation::duplicate, Mutation::swap, Mutation::tweak, Mutation::tweak, Mutation::tweak,
  };
  const Mutation m = weighted[below(rng, std::size(weighted))];
  mutate(m, ops, limits, rng);
  return m;
}

std::vector<Op> splice(std::span<const Op> a, std::span<const Op> b, const Limits& limits,
                       MutationRng& rng) {
  std::vector<Op> out(a.begin(), a.begin() + long(below(rng, a.size() + 1)));
  const size_t from = below(rng, b.size() + 1);
  out.insert(out.end(), b.begin() + long(from), b.end());
  if (out.size() > limits.max_ops) out.resize(limits.max_ops);
  return out;
}

}  // namespace ops
