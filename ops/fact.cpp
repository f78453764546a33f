// Readable names for frames, used in findings and in the model's refusals.

#include "ops/fact.hpp"

#include "ops/number_text.hpp"

namespace ops {

namespace {

std::string page_text(Pid pid, Vpn vpn) {
  return "(" + std::to_string(pid) + "," + hex_text(vpn) + ")";
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
