// Hand-rolled rather than std::from_chars so that the rules (which prefixes, what
// counts as overflow) are spelled out in one place.

#include "ops/number_text.hpp"

#include <charconv>
#include <limits>

namespace ops {

namespace {

int digit_value(char c, unsigned base) {
  int d = -1;
  if (c >= '0' && c <= '9') d = c - '0';
  if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
  if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
  return d;
}

}  // namespace

NumberParse parse_number(std::string_view s) {
  unsigned base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty()) return {};
  constexpr uint64_t max = std::numeric_limits<uint64_t>::max();
  NumberParse out{NumberParse::Status::ok, 0};
  for (char c : s) {
    int d = digit_value(c, base);
    if (d < 0) return {};
    // Keep scanning after an overflow: "99999999999999999999x" is not a number at all.
    if (out.value > (max - unsigned(d)) / base) out.status = NumberParse::Status::overflow;
    if (out.ok()) out.value = out.value * base + unsigned(d);
  }
  if (!out.ok()) out.value = 0;
  return out;
}

std::string hex_text(uint64_t v) {
  char buf[2 + 16];
  buf[0] = '0';
  buf[1] = 'x';
  auto res = std::to_chars(buf + 2, buf + sizeof buf, v, 16);
  return std::string(buf, res.ptr);
}

}  // namespace ops
