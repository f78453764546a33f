// Trace text <-> Trace. A line is: indent, op, gap, comment. Each part is kept as
// written so that printing a parsed trace gives back the same bytes; only the op is
// re-printed, which is why exact round trip needs canonically written ops.

#include "ops/trace.hpp"

#include <limits>

#include "ops/lexer.hpp"
#include "ops/op_parse.hpp"

namespace ops {

namespace {

// Columns and line numbers are ints in ParseError; refuse text that would overflow them.
constexpr size_t max_line_bytes = size_t{1} << 30;

constexpr std::string_view result_forms =
    "a result (ok, a number, an errno name such as ENOMEM, segv or sigbus)";

size_t skip_spaces(std::string_view s, size_t i) {
  while (i < s.size() && text::is_space(s[i])) ++i;
  return i;
}

// A comment "# = RESULT ..." states the expected result. `column` is that of the '#'.
std::optional<Result> parse_expectation(std::string_view comment, int line_no, int column) {
  size_t i = skip_spaces(comment, 1);
  if (i == comment.size() || comment[i] != '=') return std::nullopt;
  size_t start = skip_spaces(comment, i + 1);
  size_t end = start;
  while (end < comment.size() && !text::is_space(comment[end])) ++end;
  std::string_view token = comment.substr(start, end - start);
  int token_column = column + int(start);
  if (token.empty()) {
    throw ParseError(line_no, token_column,
                     "expected " + std::string(result_forms) + " after '# =', found end of line");
  }
  auto r = parse_result(token);
  if (!r) {
    throw ParseError(line_no, token_column,
                     "expected " + std::string(result_forms) + ", found " + text::quoted(token));
  }
  return r;
}

Line parse_line(std::string_view s, int line_no) {
  if (s.size() > max_line_bytes) throw ParseError(line_no, 1, "line longer than 2^30 bytes");
  Line line;
  size_t hash = s.find('#');
  std::string_view body = s.substr(0, hash);
  if (hash != std::string_view::npos) {
    line.comment = s.substr(hash);
    line.expect = parse_expectation(line.comment, line_no, int(hash) + 1);
  }
  size_t first = skip_spaces(body, 0);
  if (first == body.size()) {
    line.indent = body;  // blank or comment-only: all leading whitespace is indent
    return line;
  }
  size_t last = body.size();
  while (text::is_space(body[last - 1])) --last;
  line.indent = body.substr(0, first);
  line.gap = body.substr(last);
  text::Cursor cursor(body.substr(first, last - first), line_no, int(first) + 1);
  line.op = text::parse_op_tokens(cursor);
  return line;
}

void print_line(const Line& line, std::string& out) {
  out += line.indent;
  if (line.op) out += print_op(*line.op);
  if (line.comment.empty() && line.expect) {
    // Made by code rather than parsed: write the expectation as a user would.
    out += !line.gap.empty() ? line.gap : line.op ? "  " : "";
    out += "# = " + result_text(*line.expect);
    return;
  }
  out += line.gap;
  out += line.comment;
}

}  // namespace

ParseError::ParseError(int line, int column, const std::string& what)
    : std::runtime_error("line " + std::to_string(line) + ", column " + std::to_string(column) +
                         ": " + what),
      line(line),
      column(column) {}

std::vector<Op> Trace::ops() const {
  std::vector<Op> out;
  for (const Line& l : lines) {
    if (l.op) out.push_back(*l.op);
  }
  return out;
}

Trace Trace::from_ops(const std::vector<Op>& ops) {
  Trace t;
  for (const Op& op : ops) {
    Line line;
    line.op = op;
    t.lines.push_back(std::move(line));
  }
  return t;
}

Trace parse_trace(std::string_view text) {
  Trace t;
  size_t pos = 0;
  for (int line_no = 1; pos < text.size(); ++line_no) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      t.lines.push_back(parse_line(text.substr(pos), line_no));
      t.trailing_newline = false;
      break;
    }
    if (line_no == std::numeric_limits<int>::max()) {
      throw ParseError(line_no, 1, "more than 2^31 lines");
    }
    t.lines.push_back(parse_line(text.substr(pos, nl - pos), line_no));
    pos = nl + 1;
  }
  return t;
}

Op parse_op(std::string_view text) {
  if (text.size() > max_line_bytes) throw ParseError(1, 1, "op longer than 2^30 bytes");
  text::Cursor cursor(text, 1, 1);
  return text::parse_op_tokens(cursor);
}

std::string print_trace(const Trace& trace) {
  std::string out;
  for (size_t i = 0; i < trace.lines.size(); ++i) {
    if (i) out += '\n';
    print_line(trace.lines[i], out);
  }
  if (trace.trailing_newline && !trace.lines.empty()) out += '\n';
  return out;
}

}  // namespace ops
