// Which ops the byte format can carry: exactly those whose operands lie in the spans
// of byte_format.hpp. The encoder refuses the rest, the decoder never makes them.

#include <string>

#include "ops/byte_format.hpp"
#include "ops/decode.hpp"
#include "ops/limits_text.hpp"
#include "ops/number_text.hpp"
#include "ops/op_layout.hpp"

namespace ops {

namespace {

// An io for walk_op that remembers the first operand outside the limits.
class LimitsCheck {
 public:
  explicit LimitsCheck(const Limits& limits) : limits_(limits) {}

  template <class T>
  void number(T& field, bytes::Role role, std::string_view name) {
    bytes::Span s = bytes::span_of(role, limits_);
    if (s.contains(uint64_t(field))) return;
    bool vpn = role == bytes::Role::vpn_mapped || role == bytes::Role::vpn_fresh;
    auto show = [vpn](uint64_t v) { return vpn ? hex_text(v) : std::to_string(v); };
    note(std::string(name) + " " + show(uint64_t(field)) + " is outside [" + show(s.lo) + ", " +
         show(s.hi) + "]");
  }

  void mmap_flags(Mmap& m) {
    // The text form cannot say "anon" with a file or offset, so no op may carry them.
    if (m.backing == Backing::anon && (m.file != 0 || m.pgoff != 0)) {
      note("an anon mmap has file " + std::to_string(m.file) + " and pgoff " +
           std::to_string(m.pgoff) + " (both must be 0)");
    }
    if (m.backing != Backing::anon && m.backing != Backing::file)
      note("backing is not anon or file");
  }
  void mremap_flags(Mremap&) {}
  void pin_mode(bool&) {}
  void prot(Prot& p) {
    if ((p & ~(prot_read | prot_write | prot_exec)) != 0) {
      note("prot " + std::to_string(unsigned(p)) + " has bits beyond rwx");
    }
  }
  void advice(Advice& a) {
    if (unsigned(a) >= advice_count) note("advice " + std::to_string(unsigned(a)) + " is unknown");
  }

  std::optional<std::string> violation() const { return violation_; }

 private:
  void note(std::string what) {
    if (!violation_) violation_ = std::move(what);
  }

  const Limits& limits_;
  std::optional<std::string> violation_;
};

}  // namespace

std::optional<std::string> limits_violation(const Op& op, const Limits& limits) {
  validate_limits(limits);  // the spans below assume sane limits (no empty ranges)
  LimitsCheck check(limits);
  Op copy = op;  // walk_op hands out mutable operands; the check only reads them
  bytes::walk_op(check, copy);
  return check.violation();
}

bool within_limits(const Op& op, const Limits& limits) {
  return !limits_violation(op, limits).has_value();
}

}  // namespace ops
