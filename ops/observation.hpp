#pragma once
// The Observation of SEMANTICS.md: what each side reports after every op. Frames are
// never matched by number; both sides report the same canonical shape, so comparing
// is `==` plus a readable diff (check/compare).

#include <cstdint>
#include <utility>
#include <vector>

#include "ops/types.hpp"

namespace ops {

using PageKey = std::pair<Pid, Vpn>;  // (pid, vpn)

enum class MapKind : uint8_t { anon, file, shmem };

// The VMA attributes of one mapped page.
struct VmaAttrs {
  Prot prot = prot_none;
  bool shared = false;
  MapKind kind = MapKind::anon;
  unsigned file = 0;      // file backing only
  uint64_t pgoff = 0;     // file/shmem: offset of this page in its object
  bool locked = false, dontfork = false, wipeonfork = false, mergeable = false,
       hugepage = false, nohugepage = false;
  // VM_ACCOUNT: private writable memory, charged when it was mapped or made writable;
  // it stays when the mapping is made read-only again, and keeps VMAs apart.
  bool account = false;
  bool operator==(const VmaAttrs&) const = default;
};

// One VMA: where it begins and ends (the pages say its attributes), and what only a
// whole VMA has. Which VMAs exist is decided by the merge rules on each side; the
// kernel oracle sees extents only (/proc/PID/maps), not anon_vmas.
struct VmaObs {
  Pid pid = 0;
  Vpn start = 0, end = 0;
  bool anon_vma = false;  // an anon_vma is attached
  bool forked = false;    // ... and came from fork (linked to its parents' anon_vmas too)
  bool operator==(const VmaObs&) const = default;
};

enum class PteState : uint8_t { none, zero, present, swapped };

struct PageObs {
  Pid pid = 0;
  Vpn vpn = 0;
  VmaAttrs vma;
  PteState state = PteState::none;
  bool operator==(const PageObs&) const = default;
};

enum class FrameKind : uint8_t { anon, file, shmem, ksm };

// One class of the partition of present pages by the frame behind them.
struct FrameClass {
  std::vector<PageKey> pages;  // sorted
  FrameKind kind = FrameKind::anon;
  uint64_t value = 0;
  unsigned mapcount = 0;       // mappings of this page (PTE and PMD)
  bool pmd_mapped = false;
  unsigned folio = 0;          // classes with equal labels share one large folio; 0: small folio
  bool mlocked = false;
  unsigned pins = 0;
  bool operator==(const FrameClass&) const = default;
};

// One class of the partition of swapped pages by swap slot.
struct SwapClass {
  std::vector<PageKey> pages;  // sorted
  bool operator==(const SwapClass&) const = default;
};

struct Observation {
  std::vector<PageObs> pages;       // every page inside a VMA, sorted by (pid, vpn)
  std::vector<VmaObs> vmas;         // sorted by (pid, start)
  std::vector<FrameClass> frames;   // sorted by first page
  std::vector<SwapClass> swap;      // sorted by first page
  bool operator==(const Observation&) const = default;
};

// Puts an observation in canonical order: sorts pages, sorts each class, sorts the
// classes, and relabels large folios 1, 2, ... in order of their first class.
// Sorts only what is out of order: an observation written in order costs one look.
void canonicalize(Observation& obs);
// Whether canonicalize() would leave `obs` as it is.
bool is_canonical(const Observation& obs);

}  // namespace ops
