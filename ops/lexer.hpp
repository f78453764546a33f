#pragma once
// Internal to ops/: splits one line of trace text into tokens that remember their
// column, and a cursor over them whose every failure is a ParseError that says
// where, what was expected and what was found.

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace ops::text {

struct Token {
  std::string_view text;
  int column = 1;  // 1-based column of the token's first byte
};

// Separators between tokens. '\r' is one so that CRLF files parse like LF files.
inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

// `first_column` is the column of text[0] in its line.
std::vector<Token> split_tokens(std::string_view text, int first_column);

// A token as shown in an error message: quoted, non-printable bytes as \xNN, long
// tokens cut short so a megabyte of garbage does not become a megabyte of message.
std::string quoted(std::string_view token);

class Cursor {
 public:
  Cursor(std::string_view text, int line, int first_column);

  bool at_end() const { return next_ == tokens_.size(); }
  const Token* peek() const { return at_end() ? nullptr : &tokens_[next_]; }
  int line() const { return line_; }

  // The next token; `what` names it for the error when the line ends first.
  const Token& take(std::string_view what);
  // A number no larger than `max`, e.g. what = "a vpn (number)".
  uint64_t number(std::string_view what, uint64_t max = std::numeric_limits<uint64_t>::max());
  // Fails unless the line has ended; `what` lists what could have come instead.
  void expect_end(std::string_view what = "end of line") const;

  [[noreturn]] void fail(const Token& at, const std::string& message) const;
  // "expected <what>, found <the current token or end of line>".
  [[noreturn]] void fail_expected(std::string_view what) const;
  [[noreturn]] void fail_expected(std::string_view what, const Token& found) const;

 private:
  std::vector<Token> tokens_;
  size_t next_ = 0;
  int line_;
  int end_column_;  // where "end of line" is reported: just past the last token
};

}  // namespace ops::text
