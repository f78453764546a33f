// The "# limits:" comment line and the sanity check of a Limits.

#include "ops/limits_text.hpp"

#include <array>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "ops/lexer.hpp"
#include "ops/number_text.hpp"

namespace ops {

namespace {

// One field of Limits, reached by name. Getters and setters go through uint64_t so
// that one loop handles unsigned, uint64_t and bool fields alike.
struct Field {
  std::string_view name;
  uint64_t (*get)(const Limits&);
  void (*set)(Limits&, uint64_t);
  uint64_t max;  // largest value the field's type holds
  bool hex;      // printed in hex (address-like)
};

template <auto member>
constexpr Field field(std::string_view name, bool hex = false) {
  using T = std::remove_cvref_t<decltype(Limits{}.*member)>;
  return {name, [](const Limits& l) { return uint64_t(l.*member); },
          [](Limits& l, uint64_t v) { l.*member = T(v); }, uint64_t(std::numeric_limits<T>::max()),
          hex};
}

// In the order of the struct, which is the order they are printed in.
constexpr std::array fields = {
    field<&Limits::hpage_order>("hpage_order"),
    field<&Limits::max_processes>("max_processes"),
    field<&Limits::max_vmas>("max_vmas"),
    field<&Limits::address_space>("address_space", true),
    field<&Limits::max_pages>("max_pages"),
    field<&Limits::frames>("frames"),
    field<&Limits::swap_slots>("swap_slots"),
    field<&Limits::files>("files"),
    field<&Limits::initial_file_pages>("initial_file_pages"),
    field<&Limits::max_file_pages>("max_file_pages"),
    field<&Limits::max_pins>("max_pins"),
    field<&Limits::thp_always>("thp_always"),
    field<&Limits::fault_around_pages>("fault_around_pages"),
    field<&Limits::file_pages_cached>("file_pages_cached"),
    field<&Limits::exec_only>("exec_only"),
    field<&Limits::max_ops>("max_ops"),
};

constexpr std::string_view prefix = "limits:";

std::string field_names() {
  std::string s;
  for (const Field& f : fields) s += (s.empty() ? "" : " ") + std::string(f.name);
  return s;
}

// The part of a comment after "# limits:", or nothing if the comment is another kind.
std::optional<size_t> settings_start(std::string_view comment) {
  if (!comment.starts_with('#')) return std::nullopt;
  size_t i = 1;
  while (i < comment.size() && text::is_space(comment[i])) ++i;
  if (!comment.substr(i).starts_with(prefix)) return std::nullopt;
  return i + prefix.size();
}

void apply_setting(const text::Token& t, int line_no, Limits& limits,
                   std::array<bool, fields.size()>& seen) {
  size_t eq = t.text.find('=');
  std::string_view key = t.text.substr(0, eq);
  size_t i = 0;
  while (i < fields.size() && fields[i].name != key) ++i;
  if (eq == std::string_view::npos || i == fields.size()) {
    throw ParseError(line_no, t.column,
                     "expected key=value with a key among (" + field_names() + "), found " +
                         text::quoted(t.text));
  }
  const Field& f = fields[i];
  if (seen[i]) throw ParseError(line_no, t.column, "'" + std::string(key) + "' given twice");
  seen[i] = true;
  std::string_view value = t.text.substr(eq + 1);
  NumberParse n = parse_number(value);
  if (!n.ok() || n.value > f.max) {
    throw ParseError(line_no, t.column + int(eq) + 1,
                     "expected a number from 0 to " + std::to_string(f.max) + " for " +
                         std::string(key) + ", found " + text::quoted(value));
  }
  f.set(limits, n.value);
}

[[noreturn]] void refuse(std::string_view field, uint64_t value, const std::string& rule) {
  throw std::invalid_argument("limits: " + std::string(field) + " is " + std::to_string(value) +
                              ", must be " + rule);
}

// Checked on every decode and within_limits call, so the message is built only on failure.
void require_in(std::string_view field, uint64_t value, uint64_t lo, uint64_t hi) {
  if (value < lo || value > hi) {
    refuse(field, value, "in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
}

}  // namespace

std::string limits_comment(const Limits& limits) {
  const Limits defaults;
  std::string s;
  for (const Field& f : fields) {
    uint64_t v = f.get(limits);
    if (v == f.get(defaults)) continue;
    ((s += ' ') += f.name) += '=';
    s += f.hex ? hex_text(v) : std::to_string(v);
  }
  if (s.empty()) return s;
  return (std::string("# ") += prefix) += s;
}

Limits limits_from_trace(const Trace& trace, Limits base) {
  for (size_t i = 0; i < trace.lines.size(); ++i) {
    const Line& line = trace.lines[i];
    if (line.op) continue;
    auto start = settings_start(line.comment);
    if (!start) continue;
    int line_no = int(i) + 1;
    int comment_column = int(line.indent.size() + line.gap.size()) + 1;
    std::array<bool, fields.size()> seen{};
    std::string_view settings = std::string_view(line.comment).substr(*start);
    for (const text::Token& t : text::split_tokens(settings, comment_column + int(*start))) {
      apply_setting(t, line_no, base, seen);
    }
    return base;
  }
  return base;
}

void validate_limits(const Limits& l) {
  constexpr uint64_t mega = uint64_t{1} << 20;
  require_in("hpage_order", l.hpage_order, 1, 12);
  require_in("max_processes", l.max_processes, 1, 64);
  require_in("max_vmas", l.max_vmas, 1, 65536);
  require_in("address_space", l.address_space, l.hpage_pages(), uint64_t{1} << 32);
  if (l.address_space % l.hpage_pages() != 0) {
    refuse("address_space", l.address_space,
           "a multiple of the huge page size " + std::to_string(l.hpage_pages()));
  }
  require_in("max_pages", l.max_pages, 1, l.address_space);
  require_in("frames", l.frames, 1, mega);
  require_in("swap_slots", l.swap_slots, 0, mega);
  require_in("files", l.files, 1, 64);
  require_in("max_file_pages", l.max_file_pages, 1, mega);
  require_in("initial_file_pages", l.initial_file_pages, 0, l.max_file_pages);
  require_in("max_pins", l.max_pins, 0, 65535);
  require_in("fault_around_pages", l.fault_around_pages, 1, 512);
  if (l.fault_around_pages & (l.fault_around_pages - 1))
    refuse("fault_around_pages", l.fault_around_pages, "a power of two");
  require_in("max_ops", l.max_ops, 0, mega);
}

}  // namespace ops
