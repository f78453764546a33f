#pragma once
// The text trace format: one op per line, `#` starts a comment, `# = RESULT` states an
// expected result. print_trace(parse_trace(t)) == t for every trace whose ops are
// written canonically (vpns in hex, other numbers in decimal, single spaces): blank
// lines, indentation, the spacing before a comment and the comment text survive.

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ops/op.hpp"

namespace ops {

// One line of text: indent, op, gap, comment, in that order. `indent` is the leading
// whitespace (on a blank or comment-only line, all whitespace before the comment);
// `gap` is the whitespace after the op, including a CRLF file's '\r'. A comment is
// printed verbatim; only a Line with `expect` set and an empty comment (made by code)
// gets one printed for it: "<op>  # = <result>".
struct Line {
  std::string indent;              // leading whitespace
  std::optional<Op> op;            // absent on blank and comment-only lines
  std::string gap;                 // whitespace between the op and the comment
  std::string comment;             // from '#' to end of line, verbatim; may be empty
  std::optional<Result> expect;    // parsed from a comment of the form "# = RESULT ..."
  bool operator==(const Line&) const = default;
};

struct Trace {
  std::vector<Line> lines;
  std::vector<Op> ops() const;
  static Trace from_ops(const std::vector<Op>& ops);
  bool trailing_newline = true;    // whether the text ended with '\n' (ignored when no lines)
  bool operator==(const Trace&) const = default;
};

struct ParseError : std::runtime_error {
  ParseError(int line, int column, const std::string& what);
  int line, column;  // 1-based
};

// Numbers may be decimal or 0x-hex anywhere; ParseError::what() reads
// "line L, column C: expected <what>, found <token>".
Trace parse_trace(std::string_view text);          // throws ParseError
Op parse_op(std::string_view text);                // one op, no comment; throws ParseError (line 1)
std::string print_trace(const Trace& trace);
std::string print_op(const Op& op);                // canonical text

}  // namespace ops
