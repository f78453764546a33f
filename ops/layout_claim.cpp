#include "ops/layout_claim.hpp"

#include <charconv>

#include "ops/number_text.hpp"
#include "ops/trace.hpp"

namespace ops {
namespace {

constexpr std::string_view keyword = "layout";

// Reads a claim's text left to right; every failure names its column.
class Reader {
 public:
  Reader(std::string_view text, int line, int column) : text_(text), line_(line), column_(column) {}

  void skip_spaces() {
    while (!text_.empty() && text_.front() == ' ') advance(1);
  }
  bool at_end() {
    skip_spaces();
    return text_.empty();
  }
  bool take(std::string_view token) {
    skip_spaces();
    if (!text_.starts_with(token)) return false;
    advance(token.size());
    return true;
  }
  void expect(std::string_view token, std::string_view what) {
    if (!take(token)) fail(what);
  }
  uint64_t number(std::string_view what) {
    skip_spaces();
    const bool hex = text_.starts_with("0x");
    const char* first = text_.data() + (hex ? 2 : 0);
    uint64_t value = 0;
    const auto [end, ec] = std::from_chars(first, text_.data() + text_.size(), value, hex ? 16 : 10);
    if (ec != std::errc{} || end == first) fail(what);
    advance(size_t(end - text_.data()));
    return value;
  }
  [[noreturn]] void fail(std::string_view what) {
    const std::string found = text_.empty() ? "end of line" : "'" + std::string(text_.substr(0, text_.find(' '))) + "'";
    throw ParseError(line_, column_, "expected " + std::string(what) + " in a layout claim, found " + found);
  }

 private:
  void advance(size_t n) {
    text_.remove_prefix(n);
    column_ += int(n);
  }
  std::string_view text_;
  int line_, column_;
};

}  // namespace

std::optional<LayoutClaim> parse_layout_claim(std::string_view comment, int line) {
  if (!comment.starts_with('#')) return std::nullopt;
  std::string_view body = comment.substr(1);
  const size_t lead = body.find_first_not_of(' ');
  if (lead == std::string_view::npos || !body.substr(lead).starts_with(keyword)) return std::nullopt;
  const std::string_view rest = body.substr(lead + keyword.size());
  if (!rest.empty() && rest.front() != ' ') return std::nullopt;  // "# layouts are ...": prose
  Reader r(rest, line, int(1 + lead + keyword.size() + 1));
  LayoutClaim claim;
  claim.pid = Pid(r.number("a pid"));
  r.expect("=", "'='");
  if (r.take("none")) {
    if (!r.at_end()) r.fail("end of line after 'none'");
    return claim;
  }
  do {
    r.expect("[", "'[' starting an extent");
    const Vpn start = r.number("a start vpn");
    r.expect(",", "','");
    const Vpn end = r.number("an end vpn");
    r.expect(")", "')' ending an extent");
    if (end <= start || (!claim.extents.empty() && start < claim.extents.back().second))
      r.fail("extents in address order, each non-empty");
    claim.extents.emplace_back(start, end);
  } while (!r.at_end());
  return claim;
}

std::string layout_text(const std::vector<VmaObs>& vmas, Pid pid) {
  std::string s;
  for (const VmaObs& v : vmas)
    if (v.pid == pid) s += (s.empty() ? "[" : " [") + hex_text(v.start) + "," + hex_text(v.end) + ")";
  return s.empty() ? "none" : s;
}

std::string layout_text(const LayoutClaim& claim) {
  std::vector<VmaObs> vmas;
  for (const auto& [start, end] : claim.extents) vmas.push_back({claim.pid, start, end, false, false});
  return layout_text(vmas, claim.pid);
}

bool layout_holds(const LayoutClaim& claim, const std::vector<VmaObs>& vmas) {
  size_t i = 0;
  for (const VmaObs& v : vmas) {
    if (v.pid != claim.pid) continue;
    if (i == claim.extents.size() || claim.extents[i] != std::pair(v.start, v.end)) return false;
    ++i;
  }
  return i == claim.extents.size();
}

}  // namespace ops
