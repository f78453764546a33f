#include "ops/lexer.hpp"

#include "ops/number_text.hpp"
#include "ops/trace.hpp"

namespace ops::text {

namespace {

constexpr size_t max_quoted = 40;

std::string found_text(const Token* t) { return t ? quoted(t->text) : "end of line"; }

}  // namespace

std::vector<Token> split_tokens(std::string_view text, int first_column) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < text.size()) {
    if (is_space(text[i])) {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    tokens.push_back({text.substr(start, i - start), first_column + int(start)});
  }
  return tokens;
}

std::string quoted(std::string_view token) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "'";
  for (size_t i = 0; i < token.size() && i < max_quoted; ++i) {
    auto c = static_cast<unsigned char>(token[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += char(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (token.size() > max_quoted) out += "...";
  return out + "'";
}

Cursor::Cursor(std::string_view text, int line, int first_column)
    : tokens_(split_tokens(text, first_column)), line_(line), end_column_(first_column) {
  // "end of line" is reported just after the last token, whatever whitespace follows.
  if (!tokens_.empty()) end_column_ = tokens_.back().column + int(tokens_.back().text.size());
}

const Token& Cursor::take(std::string_view what) {
  if (at_end()) fail_expected(what);
  return tokens_[next_++];
}

uint64_t Cursor::number(std::string_view what, uint64_t max) {
  const Token& t = take(what);
  NumberParse n = parse_number(t.text);
  if (n.status == NumberParse::Status::not_a_number) fail_expected(what, t);
  if (n.status == NumberParse::Status::overflow) {
    fail(t, "expected " + std::string(what) + ", found " + quoted(t.text) +
                ", which does not fit in 64 bits");
  }
  if (n.value > max) {
    fail(t, "expected " + std::string(what) + ", found " + quoted(t.text) +
                ", which is larger than " + std::to_string(max));
  }
  return n.value;
}

void Cursor::expect_end(std::string_view what) const {
  if (!at_end()) fail_expected(what);
}

void Cursor::fail(const Token& at, const std::string& message) const {
  throw ParseError(line_, at.column, message);
}

void Cursor::fail_expected(std::string_view what) const {
  const Token* t = peek();
  throw ParseError(line_, t ? t->column : end_column_,
                   "expected " + std::string(what) + ", found " + found_text(t));
}

void Cursor::fail_expected(std::string_view what, const Token& found) const {
  fail(found, "expected " + std::string(what) + ", found " + found_text(&found));
}

}  // namespace ops::text
