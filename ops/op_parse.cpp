// The grammar of each op, in the order of op.hpp. Every operand is read through the
// Cursor, so every mistake is reported at its token with what was expected there.

#include "ops/op_parse.hpp"

#include <array>
#include <limits>
#include <string>

#include "ops/number_text.hpp"

namespace ops::text {

namespace {

constexpr uint64_t max_unsigned = std::numeric_limits<unsigned>::max();

Pid pid(Cursor& c) { return Pid(c.number("a pid (number)", max_unsigned)); }
Vpn vpn(Cursor& c) { return c.number("a vpn (number)"); }
uint64_t pages(Cursor& c) { return c.number("a page count (number)"); }
uint64_t value(Cursor& c) { return c.number("a value (number)"); }
unsigned file(Cursor& c) { return unsigned(c.number("a file (number)", max_unsigned)); }
uint64_t pgoff(Cursor& c) { return c.number("a page offset (number)"); }
PinId pin_id(Cursor& c) { return PinId(c.number("a pin id (number)", max_unsigned)); }

std::string word_list(auto&& name_of, unsigned count) {
  std::string s;
  for (unsigned i = 0; i < count; ++i) {
    if (i) s += ' ';
    s += name_of(i);
  }
  return s;
}

Prot prot(Cursor& c) {
  constexpr std::string_view what = "a prot (a subset of rwx such as rw, or -)";
  const Token& t = c.take(what);
  auto p = parse_prot(t.text);
  if (!p) c.fail_expected(what, t);
  return *p;
}

Advice advice(Cursor& c) {
  static const std::string what = [] {
    std::string s = "an advice (";
    s += word_list([](unsigned i) { return advice_name(Advice(i)); }, advice_count);
    return s += ')';
  }();
  const Token& t = c.take(what);
  auto a = parse_advice(t.text);
  if (!a) c.fail_expected(what, t);
  return *a;
}

// Reads `anon` or `file:F@PGOFF` into m.
void backing(Cursor& c, Mmap& m) {
  constexpr std::string_view what = "a backing (anon or file:F@PGOFF)";
  const Token& t = c.take(what);
  if (t.text == "anon") return;
  constexpr std::string_view prefix = "file:";
  size_t at = t.text.find('@');
  if (!t.text.starts_with(prefix) || at == std::string_view::npos) c.fail_expected(what, t);
  NumberParse f = parse_number(t.text.substr(prefix.size(), at - prefix.size()));
  NumberParse off = parse_number(t.text.substr(at + 1));
  if (!f.ok() || !off.ok() || f.value > max_unsigned) {
    bool too_big = f.status == NumberParse::Status::overflow || f.value > max_unsigned ||
                   off.status == NumberParse::Status::overflow;
    c.fail(t, "expected " + std::string(what) + ", found " + quoted(t.text) +
                  (too_big ? ", whose numbers are too large" : ""));
  }
  m.backing = Backing::file;
  m.file = unsigned(f.value);
  m.pgoff = off.value;
}

bool shared(Cursor& c) {
  constexpr std::string_view what = "private or shared";
  const Token& t = c.take(what);
  if (t.text != "private" && t.text != "shared") c.fail_expected(what, t);
  return t.text == "shared";
}

// Optional trailing keywords, each at most once, in any order; `seen` says which came
// and `on_word` reads whatever operand follows a keyword.
template <size_t N>
void options(Cursor& c, const std::array<std::string_view, N>& words, std::array<bool, N>& seen,
             auto&& on_word) {
  while (const Token* t = c.peek()) {
    size_t i = 0;
    while (i < N && words[i] != t->text) ++i;
    if (i == N) {
      std::string what;
      for (size_t j = 0; j < N; ++j) {
        if (!seen[j]) (what += words[j]) += ", ";
      }
      c.fail_expected(what + "or end of line");
    }
    if (seen[i]) c.fail(*t, (std::string("'") += words[i]) += "' given twice");
    seen[i] = true;
    c.take(words[i]);
    on_word(i);
  }
}

Op fork(Cursor& c) { return Fork{pid(c)}; }
Op exit(Cursor& c) { return Exit{pid(c)}; }

Op mmap(Cursor& c) {
  Mmap m;
  m.pid = pid(c);
  m.vpn = vpn(c);
  m.pages = pages(c);
  backing(c, m);
  m.shared = shared(c);
  m.prot = prot(c);
  std::array<bool, 2> seen{};
  options(c, std::array<std::string_view, 2>{"populate", "locked"}, seen, [](size_t) {});
  m.populate = seen[0];
  m.locked = seen[1];
  return m;
}

Op munmap(Cursor& c) { return Munmap{pid(c), vpn(c), pages(c)}; }
Op mprotect(Cursor& c) { return Mprotect{pid(c), vpn(c), pages(c), prot(c)}; }

Op mremap(Cursor& c) {
  Mremap m;
  m.pid = pid(c);
  m.vpn = vpn(c);
  m.old_pages = pages(c);
  m.new_pages = pages(c);
  std::array<bool, 2> seen{};
  options(c, std::array<std::string_view, 2>{"to", "dontunmap"}, seen, [&](size_t i) {
    if (i == 0) m.to = vpn(c);
  });
  m.dontunmap = seen[1];
  return m;
}

Op mlock(Cursor& c) { return Mlock{pid(c), vpn(c), pages(c)}; }
Op munlock(Cursor& c) { return Munlock{pid(c), vpn(c), pages(c)}; }
Op madvise(Cursor& c) { return Madvise{pid(c), vpn(c), pages(c), advice(c)}; }
Op read(Cursor& c) { return Read{pid(c), vpn(c)}; }
Op write(Cursor& c) { return Write{pid(c), vpn(c), value(c)}; }

Op pin(Cursor& c) {
  Pin p{pid(c), vpn(c)};
  constexpr std::string_view what = "ro or rw";
  const Token& t = c.take(what);
  if (t.text != "ro" && t.text != "rw") c.fail_expected(what, t);
  p.write = t.text == "rw";
  return p;
}

Op readpin(Cursor& c) { return ReadPin{pin_id(c)}; }
Op writepin(Cursor& c) { return WritePin{pin_id(c), value(c)}; }
Op unpin(Cursor& c) { return Unpin{pin_id(c)}; }
Op fwrite(Cursor& c) { return Fwrite{file(c), pgoff(c), value(c)}; }
Op ftruncate(Cursor& c) { return Ftruncate{file(c), pages(c)}; }
Op reclaim(Cursor& c) { return Reclaim{c.number("a frame count (number)")}; }
Op migrate(Cursor& c) { return Migrate{pid(c), vpn(c)}; }
Op ksm(Cursor&) { return Ksm{}; }
Op split(Cursor& c) { return Split{pid(c), vpn(c)}; }

using Parser = Op (*)(Cursor&);

// Indexed like the variant, as op_kind_name is.
constexpr std::array<Parser, op_kind_count> parsers = {
    fork, exit,    mmap,     munmap, mprotect, mremap,    mlock,   munlock, madvise, read,  write,
    pin,  readpin, writepin, unpin,  fwrite,   ftruncate, reclaim, migrate, ksm,     split,
};

}  // namespace

Op parse_op_tokens(Cursor& c) {
  static const std::string what = "an op (" + word_list(op_kind_name, op_kind_count) + ")";
  const Token& keyword = c.take(what);
  for (unsigned kind = 0; kind < op_kind_count; ++kind) {
    if (op_kind_name(kind) != keyword.text) continue;
    Op op = parsers[kind](c);
    c.expect_end();
    return op;
  }
  c.fail_expected(what, keyword);
}

}  // namespace ops::text
