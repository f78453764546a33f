#include "ops/observation_writer.hpp"

#include <algorithm>

namespace ops {

void DenseIndex::set(uint64_t id, uint32_t n) {
  if (id >= of_.size()) of_.resize(id + 1 + id / 2);
  if (of_[id] == 0) used_.push_back(id);
  of_[id] = n;
}

void DenseIndex::clear() {
  for (uint64_t id : used_) of_[id] = 0;
  used_.clear();
}

ObservationWriter::ObservationWriter(Observation& out, ObservationScratch& scratch)
    : out_(out), scratch_(scratch) {
  out_.pages.clear();
  out_.vmas.clear();
  scratch_.frames.clear();
  scratch_.slots.clear();
  scratch_.folios.clear();
}

namespace {

// The next class of `classes`, reusing an element left from the last observation (and
// the capacity of its page list) where there is one.
template <class Class>
Class& next_class(std::vector<Class>& classes, size_t& used) {
  if (used == classes.size()) {
    ++used;
    return classes.emplace_back();
  }
  Class& c = classes[used++];
  auto pages = std::move(c.pages);
  pages.clear();
  c = Class{};
  c.pages = std::move(pages);
  return c;
}

}  // namespace

FrameClass& ObservationWriter::map(uint64_t frame, PageKey page, bool& fresh) {
  in_order_ &= page == last_ && !mapped_;
  mapped_ = true;
  const uint32_t n = scratch_.frames.get(frame);
  fresh = n == 0;
  FrameClass& c = fresh ? next_class(out_.frames, frames_) : out_.frames[n - 1];
  if (fresh) scratch_.frames.set(frame, uint32_t(frames_));
  c.pages.push_back(page);
  return c;
}

void ObservationWriter::swap(uint64_t slot, PageKey page) {
  in_order_ &= page == last_ && !swapped_;
  swapped_ = true;
  const uint32_t n = scratch_.slots.get(slot);
  SwapClass& c = n ? out_.swap[n - 1] : next_class(out_.swap, swap_);
  if (!n) scratch_.slots.set(slot, uint32_t(swap_));
  c.pages.push_back(page);
}

unsigned ObservationWriter::folio_label(uint64_t folio) {
  if (const uint32_t n = scratch_.folios.get(folio)) return n;
  scratch_.folios.set(folio, ++folios_);
  return folios_;
}

namespace {

// Whether the large folios' labels are 1, 2, ... in order of each one's first class.
bool labels_in_order(const std::vector<FrameClass>& frames) {
  unsigned seen = 0;
  for (const FrameClass& c : frames) {
    if (c.folio > seen + 1) return false;
    seen = std::max(seen, c.folio);
  }
  return true;
}

}  // namespace

bool ObservationWriter::finish() {
  out_.frames.resize(frames_);
  out_.swap.resize(swap_);
  if (in_order_ && labels_in_order(out_.frames)) return false;
  canonicalize(out_);
  return true;
}

}  // namespace ops
