// The canonical text of each op: single spaces, vpns in 0x-hex, other numbers decimal,
// optional keywords in the order of the grammar. parse_op reads it back unchanged.

#include <string>

#include "ops/number_text.hpp"
#include "ops/trace.hpp"

namespace ops {

namespace {

// Builds "word arg arg ..." one operand at a time.
class Words {
 public:
  explicit Words(std::string_view keyword) : s_(keyword) {}
  Words& operator<<(std::string_view w) {
    s_ += ' ';
    s_ += w;
    return *this;
  }
  Words& num(uint64_t v) { return *this << std::to_string(v); }
  Words& vpn(Vpn v) { return *this << hex_text(v); }
  Words& range(Pid p, Vpn v, uint64_t pages) { return num(p).vpn(v).num(pages); }
  std::string str() const { return s_; }

 private:
  std::string s_;
};

std::string text(const Fork& o) { return Words("fork").num(o.pid).str(); }
std::string text(const Exit& o) { return Words("exit").num(o.pid).str(); }

std::string text(const Mmap& o) {
  Words w("mmap");
  w.range(o.pid, o.vpn, o.pages);
  if (o.backing == Backing::anon) {
    w << "anon";
  } else {
    w << "file:" + std::to_string(o.file) + "@" + std::to_string(o.pgoff);
  }
  w << (o.shared ? "shared" : "private") << prot_name(o.prot);
  if (o.populate) w << "populate";
  if (o.locked) w << "locked";
  return w.str();
}

std::string text(const Munmap& o) { return Words("munmap").range(o.pid, o.vpn, o.pages).str(); }

std::string text(const Mprotect& o) {
  return (Words("mprotect").range(o.pid, o.vpn, o.pages) << prot_name(o.prot)).str();
}

std::string text(const Mremap& o) {
  Words w("mremap");
  w.range(o.pid, o.vpn, o.old_pages).num(o.new_pages);
  if (o.to) (w << "to").vpn(*o.to);
  if (o.dontunmap) w << "dontunmap";
  return w.str();
}

std::string text(const Mlock& o) { return Words("mlock").range(o.pid, o.vpn, o.pages).str(); }
std::string text(const Munlock& o) { return Words("munlock").range(o.pid, o.vpn, o.pages).str(); }

std::string text(const Madvise& o) {
  return (Words("madvise").range(o.pid, o.vpn, o.pages) << advice_name(o.advice)).str();
}

std::string text(const Read& o) { return Words("read").num(o.pid).vpn(o.vpn).str(); }
std::string text(const Write& o) { return Words("write").num(o.pid).vpn(o.vpn).num(o.value).str(); }

std::string text(const Pin& o) {
  return (Words("pin").num(o.pid).vpn(o.vpn) << (o.write ? "rw" : "ro")).str();
}

std::string text(const ReadPin& o) { return Words("readpin").num(o.id).str(); }
std::string text(const WritePin& o) { return Words("writepin").num(o.id).num(o.value).str(); }
std::string text(const Unpin& o) { return Words("unpin").num(o.id).str(); }
std::string text(const Fwrite& o) {
  return Words("fwrite").num(o.file).num(o.pgoff).num(o.value).str();
}
std::string text(const Ftruncate& o) { return Words("ftruncate").num(o.file).num(o.pages).str(); }
std::string text(const Reclaim& o) { return Words("reclaim").num(o.frames).str(); }
std::string text(const Migrate& o) { return Words("migrate").num(o.pid).vpn(o.vpn).str(); }
std::string text(const Ksm&) { return "ksm"; }
std::string text(const Split& o) { return Words("split").num(o.pid).vpn(o.vpn).str(); }

}  // namespace

std::string print_op(const Op& op) {
  return std::visit([](const auto& o) { return text(o); }, op);
}

}  // namespace ops
