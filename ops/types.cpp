// Text forms of the small vocabulary types: prot bits, errno names and results.

#include "ops/types.hpp"

#include <array>

#include "ops/number_text.hpp"

namespace ops {

namespace {

constexpr std::array<std::string_view, 9> errno_names = {
    "EAGAIN", "ENOMEM", "EINVAL", "EFAULT", "EBUSY", "ENOENT", "EFBIG", "ESRCH", "EBADF",
};

}  // namespace

std::string prot_name(Prot p) {
  if ((p & (prot_read | prot_write | prot_exec)) == 0) return "-";
  std::string s;
  if (p & prot_read) s += 'r';
  if (p & prot_write) s += 'w';
  if (p & prot_exec) s += 'x';
  return s;
}

std::optional<Prot> parse_prot(std::string_view s) {
  if (s == "-") return prot_none;
  if (s.empty()) return std::nullopt;
  uint8_t bits = 0;
  for (char c : s) {
    uint8_t bit = c == 'r' ? prot_read : c == 'w' ? prot_write : c == 'x' ? prot_exec : 0;
    // An unknown letter or a repeated one is a typo, not a permission.
    if (bit == 0 || (bits & bit) != 0) return std::nullopt;
    bits |= bit;
  }
  return Prot(bits);
}

std::string_view errno_name(Errno e) {
  auto i = static_cast<size_t>(e);
  return i < errno_names.size() ? errno_names[i] : "E?";
}

std::optional<Errno> parse_errno(std::string_view s) {
  for (size_t i = 0; i < errno_names.size(); ++i) {
    if (errno_names[i] == s) return Errno(i);
  }
  return std::nullopt;
}

std::string result_text(const Result& r) {
  switch (r.kind) {
    case Result::Kind::ok:
      return "ok";
    case Result::Kind::value:
      return std::to_string(r.value);
    case Result::Kind::error:
      return std::string(errno_name(r.err));
    case Result::Kind::segv:
      return "segv";
    case Result::Kind::sigbus:
      return "sigbus";
  }
  return "?";
}

std::optional<Result> parse_result(std::string_view s) {
  if (s == "ok") return Result::ok();
  if (s == "segv") return Result::segv();
  if (s == "sigbus") return Result::sigbus();
  if (auto e = parse_errno(s)) return Result::fail(*e);
  if (auto n = parse_number(s); n.ok()) return Result::of(n.value);
  return std::nullopt;
}

}  // namespace ops
