// Readable names for frames, used in findings and in the model's refusals.

#include "ops/fact.hpp"

#include "ops/number_text.hpp"

namespace ops {

namespace {

// Built by appending: g++ 12 at -O3 takes `"(" + std::string` (an insert at the front)
// for an overlapping copy and warns (-Wrestrict, GCC bug 105651).
std::string page_text(Pid pid, Vpn vpn) {
  std::string out = "(";
  out += std::to_string(pid);
  out += ',';
  out += hex_text(vpn);
  out += ')';
  return out;
}

}  // namespace

std::string frame_ref_text(const FrameRef& f) {
  switch (f.kind) {
    case FrameRef::Kind::mapped:
      return "page " + page_text(f.pid, f.vpn);
    case FrameRef::Kind::swapcache:
      return "swap cache of " + page_text(f.pid, f.vpn);
    case FrameRef::Kind::filecache:
      return "file " + std::to_string(f.object) + " page " + std::to_string(f.pgoff);
    case FrameRef::Kind::shmemcache:
      return "shmem " + std::to_string(f.object) + " page " + std::to_string(f.pgoff);
  }
  return "?";
}

std::string huge_fallback_text(const HugeFallbackFact& f) { return "no huge page for " + page_text(f.pid, f.vpn); }

}  // namespace ops
