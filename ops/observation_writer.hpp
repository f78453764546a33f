#pragma once
// Writing an Observation fast, into buffers kept from the last one. The checker
// observes both sides after every op; built naively (a std::map per partition, then
// sorting) that was most of a campaign's time, nearly all of it allocation.
//
// A side walks its pages in (pid, vpn) order and says, for each, what maps it (its
// own frame and slot numbers, any size). Walked in that order, every class's pages
// come out sorted and the classes come out sorted by first page: canonical, with no
// sort. finish() checks that cheaply and canonicalizes if the walk was out of order,
// so a side that breaks the order (overlapping VMAs, say) is still reported right.

#include <cstdint>
#include <vector>

#include "ops/observation.hpp"

namespace ops {

// Small dense numbers (1, 2, ...) for a side's own ids, in order of first use. Cleared
// in time proportional to what was used.
class DenseIndex {
 public:
  // The number given to `id`, or 0 if none was.
  uint32_t get(uint64_t id) const { return id < of_.size() ? of_[id] : 0; }
  void set(uint64_t id, uint32_t n);
  void clear();

 private:
  std::vector<uint32_t> of_;
  std::vector<uint64_t> used_;
};

// What a writer keeps between observations; one per observing side.
struct ObservationScratch {
  DenseIndex frames, slots, folios;
};

class ObservationWriter {
 public:
  // Starts `out` afresh, keeping its buffers.
  ObservationWriter(Observation& out, ObservationScratch& scratch);
  ObservationWriter(const ObservationWriter&) = delete;
  ObservationWriter& operator=(const ObservationWriter&) = delete;

  void page(Pid pid, Vpn vpn, const VmaAttrs& vma, PteState state) {
    const PageKey key{pid, vpn};
    in_order_ &= out_.pages.empty() || last_ < key;
    last_ = key;
    mapped_ = swapped_ = false;
    out_.pages.push_back({pid, vpn, vma, state});
  }
  // A VMA, named in (pid, start) order like the pages.
  void vma(const VmaObs& v) {
    in_order_ &= out_.vmas.empty() || std::pair(out_.vmas.back().pid, out_.vmas.back().start) < std::pair(v.pid, v.start);
    out_.vmas.push_back(v);
  }
  // The class of the side's frame `frame`, with `page` added to it. `fresh` says it was
  // created by this call: the caller fills in its attributes then.
  FrameClass& map(uint64_t frame, PageKey page, bool& fresh);
  // `page` is swapped out to the side's slot `slot`.
  void swap(uint64_t slot, PageKey page);
  // The canonical label of the side's large folio `folio` (0: a small folio).
  unsigned folio_label(uint64_t folio);
  // Drops what is left of the last observation and makes the result canonical.
  // Returns whether that took sorting (the walk was out of order).
  bool finish();

 private:
  Observation& out_;
  ObservationScratch& scratch_;
  size_t frames_ = 0, swap_ = 0;
  unsigned folios_ = 0;
  // Whether every page came in (pid, vpn) order and was mapped or swapped (once) just
  // after it was named: then the result is canonical as it stands.
  bool in_order_ = true;
  PageKey last_{};
  bool mapped_ = false, swapped_ = false;
};

}  // namespace ops
