#pragma once
// Choices only the implementation makes (which frames reclaim takes, where it could not
// assemble a huge page) are handed to the model as facts; the model checks each is
// legal before applying it.

#include <cstdint>
#include <string>

#include "ops/types.hpp"

namespace ops {

// Names one frame without its number: by a page that maps it, by the swap entry whose
// swap-cache page it is, or by its place in a file's or shmem object's page cache.
struct FrameRef {
  enum class Kind : uint8_t { mapped, swapcache, filecache, shmemcache };
  Kind kind = Kind::mapped;
  Pid pid = 0;          // mapped, swapcache: a page whose PTE names the frame / its slot
  Vpn vpn = 0;
  unsigned object = 0;  // filecache: file id; shmemcache: shmem object id (creation order)
  uint64_t pgoff = 0;
  bool operator==(const FrameRef&) const = default;
};

// "the implementation reclaimed this frame".
struct ReclaimFact {
  FrameRef frame;
  bool operator==(const ReclaimFact&) const = default;
};

// "the implementation found no huge page for (pid, vpn)": enough frames were free but
// no naturally aligned block of them, and compaction could not make one (pinned pages
// in the way). A THP fault there fell back to a small page; collapse, or migration of
// the large folio mapped there, answered ENOMEM. For faults and collapse vpn is the
// first page of the huge range; for migration, the page the op names.
struct HugeFallbackFact {
  Pid pid = 0;
  Vpn vpn = 0;
  bool operator==(const HugeFallbackFact&) const = default;
};

std::string frame_ref_text(const FrameRef& f);
std::string huge_fallback_text(const HugeFallbackFact& f);

}  // namespace ops
